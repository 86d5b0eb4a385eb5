"""The demo client's records with her shared plan grown large: N activities and M goals, built from the demo's shapes.

`large_pool(activities, goals)` answers the resources the gateway would read to issue her plan
document (`Type/id` → resource): every resource of `gateway/demo/bundle.json` (`demo_client_records`) except the demo
plan and its three goals, plus `CarePlan/bench-plan` and the goals `Goal/bench-goal-01`… in
their place. Nothing new is invented: each goal is a copy of a demo goal (studies, home,
wellbeing) and each activity a copy of the demo activity of its sector, with its own id or
text, so every resource keeps the profiles the demo keeps (SharedCarePlan, ClientGoal).

- Activities take the demo's four sectors in turn (school-welfare, child-protection,
  hospital-psychiatry, municipal-youth-services), each with the demo performer of that sector.
  Every hospital-psychiatry activity is PSY-labelled (`plan-security-label`), as the demo's
  psychiatric activity is, and no other is. Each names one goal of the same kind: a PSY
  activity a PSY goal, any other a goal without a label.
- Every `PSY_EVERY`-th goal (the 3rd, 7th, …) is a copy of the demo's wellbeing goal: PSY in
  `meta.security`, addressing the anxiety need, its reference in the plan labelled PSY. The
  others alternate between the studies and the home goal.

`activities` must be at least 4 and `goals` at least `PSY_EVERY` (so that every kind exists).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from gateway.demo import demo_client_records
from gateway.fhir.systems import OWNING_SECTOR, PLAN_SECURITY_LABEL

__all__ = ["PLAN", "PSY_EVERY", "SECTORS", "large_pool"]

PLAN = "CarePlan/bench-plan"
PSY_EVERY = 4
"""Goal number k (1-based) is PSY-labelled when k % PSY_EVERY == PSY_EVERY - 1."""
SECTORS = ("school-welfare", "child-protection", "hospital-psychiatry", "municipal-youth-services")
"""The owning sectors of the demo's four activities, the order the activities take them in."""

_DEMO_PLAN = "CarePlan/demo-plan"
_DEMO_GOALS = {
    "studies": "Goal/demo-goal-studies",
    "home": "Goal/demo-goal-home",
    "wellbeing": "Goal/demo-goal-wellbeing",
}


def large_pool(activities: int = 50, goals: int = 20) -> dict[str, dict[str, Any]]:
    """The demo's records with the plan grown to `activities` activities and `goals` goals; see the module doc."""
    if activities < len(SECTORS) or goals < PSY_EVERY:
        raise ValueError(f"at least {len(SECTORS)} activities and {PSY_EVERY} goals")
    demo = demo_client_records()
    pool = {ref: r for ref, r in demo.items() if ref != _DEMO_PLAN and ref not in _DEMO_GOALS.values()}
    psy_goals: list[str] = []
    plain_goals: list[str] = []
    goal_refs: list[dict[str, Any]] = []
    for number in range(1, goals + 1):
        psy = number % PSY_EVERY == PSY_EVERY - 1
        kind = "wellbeing" if psy else ("studies", "home")[len(plain_goals) % 2]
        goal = copy.deepcopy(demo[_DEMO_GOALS[kind]])
        goal["id"] = f"bench-goal-{number:02d}"
        goal["description"]["text"] = f"{number}. {goal['description']['text']}"
        reference = f"Goal/{goal['id']}"
        pool[reference] = goal
        (psy_goals if psy else plain_goals).append(reference)
        goal_refs.append({"reference": reference, **({"extension": [_psy_label()]} if psy else {})})

    plan = copy.deepcopy(demo[_DEMO_PLAN])
    templates = {_owner(activity): activity for activity in plan["activity"]}
    plan["id"] = PLAN.split("/")[1]
    plan["identifier"][0]["value"] = "PLAN-2026-BENCH"
    plan["goal"] = goal_refs
    plan["activity"] = []
    for number in range(1, activities + 1):
        sector = SECTORS[(number - 1) % len(SECTORS)]
        activity = copy.deepcopy(templates[sector])
        detail = activity["detail"]
        detail["code"]["text"] = f"{number}. {detail['code']['text']}"
        detail["description"] = f"Toimenpide {number}/{activities}. {detail['description']}"
        named = psy_goals if sector == "hospital-psychiatry" else plain_goals
        detail["goal"] = [{"reference": named[(number - 1) // len(SECTORS) % len(named)]}]
        plan["activity"].append(activity)
    pool[PLAN] = plan
    return pool


def _owner(activity: Mapping[str, Any]) -> str:
    return next(str(e["valueCoding"]["code"]) for e in activity["extension"] if e["url"] == OWNING_SECTOR)


def _psy_label() -> dict[str, Any]:
    return {
        "url": PLAN_SECURITY_LABEL,
        "valueCoding": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "PSY",
            "display": "psychiatry disorder information sensitivity",
        },
    }
