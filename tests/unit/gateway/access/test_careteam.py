"""The personal-worker role keeps its history through handovers, and a client has one personal worker."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.access.careteam import competing_teams, handover_problems
from gateway.demo import demo_bundle

DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
TEAM: dict[str, Any] = DEMO["CareTeam/demo-team"]
TEAM_ROLE = "https://yhteys.fi/fhir/CodeSystem/team-role"
SOCIAL_WORKER = "PractitionerRole/demo-role-social-worker"  # the open personal worker since 2026-10-01
CURATOR = "PractitionerRole/demo-role-curator"  # the personal worker until 2026-09-30
YOUTH_WORKER = "PractitionerRole/demo-role-youth-worker"
OUTGOING, CLOSED = 0, 1  # positions in TEAM["participant"]


def _personal_worker(member: str, start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start} | ({"end": end} if end else {})
    role = {"coding": [{"system": TEAM_ROLE, "code": "personal-worker", "display": "Personal worker"}]}
    return {"role": [role], "member": {"reference": member}, "period": period}


def _changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    team = copy.deepcopy(TEAM)
    change(team)
    return team


def _close_outgoing(end: str, start: str = "2026-10-01") -> Callable[[dict[str, Any]], object]:
    def change(team: dict[str, Any]) -> None:
        team["participant"][OUTGOING]["period"] = {"start": start, "end": end}

    return change


def _hand_over(end: str, new_start: str, start: str = "2026-10-01") -> Callable[[dict[str, Any]], object]:
    def change(team: dict[str, Any]) -> None:
        _close_outgoing(end, start)(team)
        team["participant"].append(_personal_worker(YOUTH_WORKER, new_start))

    return change


def _split_hand_over(team: dict[str, Any]) -> None:
    """The outgoing keeps its other role open; its personal-worker period is closed on its own."""
    outgoing = team["participant"][OUTGOING]
    outgoing["role"] = [r for r in outgoing["role"] if r["coding"][0]["code"] != "personal-worker"]
    team["participant"].append(_personal_worker(SOCIAL_WORKER, "2026-10-01", "2026-12-31"))
    team["participant"].append(_personal_worker(YOUTH_WORKER, "2027-01-01"))


def _drop_outgoing(team: dict[str, Any]) -> None:
    del team["participant"][OUTGOING]
    team["participant"].append(_personal_worker(YOUTH_WORKER, "2027-01-01"))


def _outgoing_loses_the_role(team: dict[str, Any]) -> None:
    outgoing = team["participant"][OUTGOING]
    outgoing["role"] = [r for r in outgoing["role"] if r["coding"][0]["code"] != "personal-worker"]
    team["participant"].append(_personal_worker(YOUTH_WORKER, "2027-01-01"))


def _new_without_a_start(team: dict[str, Any]) -> None:
    _hand_over("2026-12-31", "2027-01-01")(team)
    del team["participant"][-1]["period"]


def _closed_deleted_in_a_handover(team: dict[str, Any]) -> None:
    _hand_over("2026-12-31", "2027-01-01")(team)
    del team["participant"][CLOSED]


@dataclass(frozen=True)
class HandoverCase:
    name: str
    change: Callable[[dict[str, Any]], object]
    want_problems: tuple[str, ...]  # a fragment of each problem, in order


HANDOVER_CASES = [
    HandoverCase("unchanged", lambda team: None, ()),
    HandoverCase("other elements change", lambda team: team.update(name="Ainon tiimi", note=[{"text": "x"}]), ()),
    HandoverCase(
        "a member joins",
        lambda team: team["participant"].append(
            {
                "role": [{"coding": [{"system": TEAM_ROLE, "code": "youth-worker"}]}],
                "member": {"reference": YOUTH_WORKER},
            }
        ),
        (),
    ),
    HandoverCase("proper handover", _hand_over("2026-12-31", "2027-01-01"), ()),
    HandoverCase("handover on the same day", _hand_over("2026-12-31", "2026-12-31"), ()),
    HandoverCase("dates compare by date", _hand_over("2026-12-31T16:00:00+02:00", "2026-12-31"), ()),
    HandoverCase("handover keeping the other role open", _split_hand_over, ()),
    HandoverCase("outgoing dropped", _drop_outgoing, ("outgoing personal worker " + SOCIAL_WORKER,)),
    HandoverCase("outgoing loses the role", _outgoing_loses_the_role, ("outgoing personal worker " + SOCIAL_WORKER,)),
    HandoverCase(
        "outgoing closed with another start",
        _hand_over("2026-12-31", "2027-01-01", start="2026-10-02"),
        ("outgoing personal worker " + SOCIAL_WORKER,),
    ),
    HandoverCase(
        "outgoing closed without its start",
        _hand_over("2026-12-31", "2027-01-01", start=""),
        ("outgoing personal worker " + SOCIAL_WORKER,),
    ),
    HandoverCase("new start before old end", _hand_over("2026-12-31", "2026-12-01"), ("must start no earlier",)),
    HandoverCase("new without a start", _new_without_a_start, ("must start no earlier",)),
    HandoverCase(
        "closed entry's end altered",
        lambda team: team["participant"][CLOSED]["period"].update(end="2026-09-29"),
        ("closed personal-worker period of " + CURATOR,),
    ),
    HandoverCase(
        "closed entry's start altered",
        lambda team: team["participant"][CLOSED]["period"].update(start="2026-08-01"),
        ("closed personal-worker period of " + CURATOR,),
    ),
    HandoverCase(
        "closed entry reopened",
        lambda team: team["participant"][CLOSED]["period"].pop("end"),
        ("closed personal-worker period of " + CURATOR,),
    ),
    HandoverCase(
        "closed entry deleted",
        lambda team: team["participant"].pop(CLOSED),
        ("closed personal-worker period of " + CURATOR,),
    ),
    HandoverCase(
        "closed entry loses its role",
        lambda team: team["participant"][CLOSED].update(
            role=[{"coding": [{"system": TEAM_ROLE, "code": "school-curator"}]}]
        ),
        ("closed personal-worker period of " + CURATOR,),
    ),
    HandoverCase(
        "closed entry deleted in a handover",
        _closed_deleted_in_a_handover,
        ("closed personal-worker period of " + CURATOR,),
    ),
]


@pytest.mark.parametrize("case", HANDOVER_CASES, ids=lambda case: case.name)
def test_handover_problems(case: HandoverCase) -> None:
    proposed = _changed(case.change)
    before = copy.deepcopy(proposed)
    problems = handover_problems(TEAM, proposed)
    assert len(problems) == len(case.want_problems), problems
    for problem, fragment in zip(problems, case.want_problems, strict=False):
        assert fragment in problem
    assert proposed == before and TEAM == DEMO["CareTeam/demo-team"]


def test_the_demo_team_is_the_setting() -> None:
    pw = [p for p in TEAM["participant"] if any(c["code"] == "personal-worker" for r in p["role"] for c in r["coding"])]
    assert [(p["member"]["reference"], p["period"].get("end")) for p in pw] == [
        (SOCIAL_WORKER, None),
        (CURATOR, "2026-09-30"),
    ]
    assert pw[0] is TEAM["participant"][OUTGOING] and pw[1] is TEAM["participant"][CLOSED]


def test_a_team_closed_without_a_successor_keeps_its_last_personal_worker() -> None:
    """The history of the role is kept when the team ends too: the last personal worker stays, closed."""
    kept = _changed(_close_outgoing("2026-12-31"))
    kept["status"] = "inactive"
    assert handover_problems(TEAM, kept) == []
    dropped = _changed(lambda team: team["participant"].pop(OUTGOING))
    dropped["status"] = "inactive"
    assert len(handover_problems(TEAM, dropped)) == 1


def _other_team(team_id: str, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(TEAM), "id": team_id, **changes}


def _without_open_personal_worker(team: dict[str, Any]) -> dict[str, Any]:
    team["participant"][OUTGOING]["period"]["end"] = "2026-12-31"
    return team


def test_another_active_team_with_a_personal_worker_competes() -> None:
    assert competing_teams(TEAM, [_other_team("team-2")]) == ["team-2"]
    created = {k: v for k, v in TEAM.items() if k != "id"}  # a create carries no id
    assert competing_teams(created, [TEAM]) == ["demo-team"]


def test_the_team_itself_does_not_compete() -> None:
    assert competing_teams(TEAM, [TEAM]) == []
    assert competing_teams(TEAM, [TEAM, _other_team("team-2"), _other_team("team-3")]) == ["team-2", "team-3"]


def test_teams_without_an_open_personal_worker_do_not_compete() -> None:
    others = [_without_open_personal_worker(_other_team("closed-pw")), _other_team("inactive", status="inactive"),
              _other_team("no-participants", participant=[])]  # fmt: skip
    assert competing_teams(TEAM, others) == []


@pytest.mark.parametrize(
    "proposed",
    [_without_open_personal_worker(copy.deepcopy(TEAM)), {**TEAM, "status": "inactive"}, {**TEAM, "participant": []}],
    ids=["personal worker closed", "inactive", "no participants"],
)
def test_a_team_without_a_personal_worker_never_competes(proposed: dict[str, Any]) -> None:
    assert competing_teams(proposed, [_other_team("team-2"), _other_team("team-3")]) == []
