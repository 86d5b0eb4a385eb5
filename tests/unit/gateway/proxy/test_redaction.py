"""Hidden parts leave no trace: whole resources, plan activities, bundle entries and totals."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from gateway.access.seam import Withheld
from gateway.demo import demo_bundle
from gateway.fhir.labels import LABELLED_PARTS, PROTECTION_ORDER, PSY, SOC, Label
from gateway.proxy.redaction import redact, redact_bundle

DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
PLAN = DEMO["CarePlan/demo-plan"]
NOTHING: frozenset[Label] = frozenset()


def _sectors(plan: Mapping[str, Any]) -> list[str]:
    return [
        ext["valueCoding"]["code"]
        for activity in plan.get("activity", [])
        for ext in activity["extension"]
        if ext["url"].endswith("/activity-owning-sector")
    ]


def test_psy_parts_are_removed_whole_and_nothing_else_changes() -> None:
    before = copy.deepcopy(PLAN)
    shown = redact(PLAN, frozenset({PSY}))
    assert not isinstance(shown, Withheld)
    assert "hospital-psychiatry" not in _sectors(shown)
    assert len(shown["activity"]) == len(PLAN["activity"]) - 1
    # the plan's references to the PSY goal and need go too: their ids would leak
    assert [g["reference"] for g in shown["goal"]] == ["Goal/demo-goal-studies", "Goal/demo-goal-home"]
    assert "Condition/demo-need-anxiety" not in json.dumps(shown)
    assert "demo-goal-wellbeing" not in json.dumps(shown)
    assert "PSY" not in json.dumps(shown)
    # so do the contributors from psychiatry: who wrote the plan tells the care
    assert "demo-role-psych" not in json.dumps(shown)
    assert len(shown["contributor"]) == len(PLAN["contributor"]) - 2
    parts = LABELLED_PARTS["CarePlan"]
    assert {k: v for k, v in shown.items() if k not in parts} == {k: v for k, v in PLAN.items() if k not in parts}
    assert PLAN == before  # the input is untouched


def test_team_participants_from_psychiatry_are_removed_whole() -> None:
    team = DEMO["CareTeam/demo-team"]
    before = copy.deepcopy(team)
    shown = redact(team, frozenset({PSY}))
    assert not isinstance(shown, Withheld)
    text = json.dumps(shown)
    assert "demo-role-psych" not in text and "PSY" not in text and "psychiatr" not in text
    assert len(shown["participant"]) == len(team["participant"]) - 2
    assert {k: v for k, v in shown.items() if k != "participant"} == {
        k: v for k, v in team.items() if k != "participant"
    }
    assert redact(team, frozenset({SOC})) == team == before


def test_a_caller_who_sees_psy_gets_the_whole_plan() -> None:
    assert redact(PLAN, frozenset({SOC})) == PLAN


def test_labelled_resource_is_withheld() -> None:
    assert redact(DEMO["Goal/demo-goal-wellbeing"], frozenset({PSY})) == Withheld(frozenset({PSY}))
    assert redact(DEMO["Goal/demo-goal-studies"], frozenset({PSY})) == DEMO["Goal/demo-goal-studies"]


def test_plan_whose_every_activity_is_hidden_loses_the_element() -> None:
    plan = copy.deepcopy(PLAN)
    plan["activity"] = [a for a in plan["activity"] if "PSY" in json.dumps(a)]
    shown = redact(plan, frozenset({PSY}))
    assert not isinstance(shown, Withheld) and "activity" not in shown


def test_malformed_activity_is_dropped() -> None:
    plan = copy.deepcopy(PLAN)
    plan["activity"].append("not an object")
    shown = redact(plan, NOTHING)
    assert not isinstance(shown, Withheld)
    assert shown["activity"] == PLAN["activity"]


def _searchset(*resources: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": "https://gateway/fhir/Goal"}],
        "entry": [
            {"fullUrl": f"https://gateway/fhir/Goal/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def test_bundle_drops_hidden_entries_and_total() -> None:
    goals = [DEMO["Goal/demo-goal-studies"], DEMO["Goal/demo-goal-home"], DEMO["Goal/demo-goal-wellbeing"]]
    shown = redact_bundle(_searchset(*goals), lambda resource: frozenset({PSY}))
    assert "total" not in shown
    assert [e["resource"]["id"] for e in shown["entry"]] == ["demo-goal-studies", "demo-goal-home"]
    assert "demo-goal-wellbeing" not in json.dumps(shown)
    assert shown["link"] == _searchset()["link"]


def test_bundle_entries_of_a_withheld_client_vanish() -> None:
    shown = redact_bundle(_searchset(DEMO["Goal/demo-goal-studies"]), lambda resource: Withheld(frozenset()))
    assert "entry" not in shown and "total" not in shown


def test_entries_without_resource_survive_only_in_write_responses() -> None:
    deleted = {
        "fullUrl": "https://gateway/fhir/Goal/demo-goal-wellbeing",
        "request": {"method": "DELETE", "url": "Goal/demo-goal-wellbeing"},
    }
    history = {"resourceType": "Bundle", "type": "history", "entry": [deleted]}
    assert "entry" not in redact_bundle(history, lambda resource: NOTHING)
    written = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created"}}],
    }
    assert redact_bundle(written, lambda resource: NOTHING)["entry"] == written["entry"]


@pytest.mark.parametrize("element", ["activity", "goal", "addresses"])
def test_a_hidden_part_given_as_a_lone_object_is_removed_too(element: str) -> None:
    """A plan element that is one object instead of a list still holds one part (as gateway.proxy.merge reads it)."""
    plan = copy.deepcopy(PLAN)
    plan[element] = next(part for part in PLAN[element] if "PSY" in json.dumps(part))
    shown = redact(plan, frozenset({PSY}))
    assert not isinstance(shown, Withheld)
    assert "PSY" not in json.dumps(shown)


PROTECTED = {
    "resourceType": "Patient",
    "id": "protected",
    "meta": {"security": [{"system": PROTECTION_ORDER[0], "code": PROTECTION_ORDER[1]}]},
    "name": [{"family": "Kallio"}],
    "address": [{"city": "Oulu"}],
    "contact": [{"name": {"family": "Kallio"}, "address": {"city": "Oulu"}}, {"address": {"city": "Kemi"}}],
}


def test_a_protection_order_keeps_every_address_back_whoever_asks() -> None:
    shown = redact(PROTECTED, frozenset())
    assert isinstance(shown, dict)
    assert "address" not in shown and "Oulu" not in str(shown) and "Kemi" not in str(shown)
    assert shown["contact"] == [{"name": {"family": "Kallio"}}]  # a contact with nothing left goes
    assert shown["name"] == PROTECTED["name"] and PROTECTED["address"] == [{"city": "Oulu"}]


def test_without_a_protection_order_the_address_is_shown() -> None:
    plain = {
        **PROTECTED,
        "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}]},
    }
    shown = redact(plain, frozenset())
    assert isinstance(shown, dict) and shown["address"] == [{"city": "Oulu"}]


@pytest.mark.parametrize("meta", [{"security": "TURVAKIELTO"}, {"security": ["TURVAKIELTO"]}, "meta"])
def test_a_malformed_security_label_is_read_as_a_protection_order(meta: object) -> None:
    shown = redact({**PROTECTED, "meta": meta}, frozenset())
    assert isinstance(shown, dict) and "address" not in shown
