"""Finding a resource's client and a team's current personal worker."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.access.careteam import personal_worker_of
from gateway.access.seam import UnknownPatient
from gateway.access.subjects import NoClient, patient_of
from gateway.demo import demo_bundle

DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
TEAM = DEMO["CareTeam/demo-team"]


@pytest.mark.parametrize(
    ("reference", "want"),
    [
        ("Patient/demo-client", "Patient/demo-client"),
        ("CarePlan/demo-plan", "Patient/demo-client"),
        ("CareTeam/demo-team", "Patient/demo-client"),
        ("Goal/demo-goal-wellbeing", "Patient/demo-client"),
        ("Condition/demo-need-anxiety", "Patient/demo-client"),
        ("Consent/demo-consent", "Patient/demo-client"),
        ("Organization/demo-org-psychiatry", NoClient()),
        ("PractitionerRole/demo-role-youth-worker", NoClient()),
    ],
)
def test_demo_resources_belong_to_aino_or_nobody(reference: str, want: object) -> None:
    assert patient_of(DEMO[reference]) == want


@pytest.mark.parametrize(
    "subject",
    [
        None,
        {},
        {"reference": "https://elsewhere.example/fhir/Patient/x"},
        {"reference": "Patient/x/_history/2"},
        {"reference": "Group/x"},
        {"display": "Aino"},
        "Patient/x",
    ],
)
def test_a_client_reference_that_cannot_be_trusted_is_unknown(subject: object) -> None:
    goal: dict[str, Any] = {"resourceType": "Goal", "id": "g"}
    if subject is not None:
        goal["subject"] = subject
    assert isinstance(patient_of(goal), UnknownPatient)


def test_unmapped_types_are_unknown_not_free() -> None:
    assert isinstance(
        patient_of({"resourceType": "Observation", "subject": {"reference": "Patient/x"}}), UnknownPatient
    )


def test_the_demo_personal_worker_after_the_handover() -> None:
    assert personal_worker_of(TEAM) == "PractitionerRole/demo-role-social-worker"


def test_no_personal_worker_for_an_inactive_team_or_two_open_ones() -> None:
    inactive = {**copy.deepcopy(TEAM), "status": "inactive"}
    assert personal_worker_of(inactive) is None
    two = copy.deepcopy(TEAM)
    for participant in two["participant"]:
        participant["period"].pop("end", None)
    assert personal_worker_of(two) is None
