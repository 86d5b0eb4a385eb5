"""Conformance check 4 (STANDARDS.md): "A PSY- or R-labelled resource or plan part never reaches
a school-curator or youth-worker token unless a Consent or break-the-glass permits it."

Through the in-process gateway on the real HAPI: the PSY goal, need and plan activity of a
private copy of the demo client, and an R-labelled goal added to it, are withheld from both
tokens on read, search, include and history; then break-the-glass shows them to the curator
for reading, and a Consent naming the curator's organisation with those labels lifts them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from gateway.fhir.codes import PurposeOfUse
from tests.conformance.support import member_token, on_store, put_on_store
from tests.e2e.gateway_harness import CURATOR, YOUTH_WORKER, Client, Gateway, Member

PSY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}
R = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
IRCP = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}


def _restricted_goal(fhir: httpx.Client, client: Client) -> str:
    """An R-labelled copy of the client's studies goal, stored on HAPI; its reference."""
    goal = on_store(fhir, client.ref("goal-studies"))
    goal = {
        **goal,
        "id": f"{client.prefix}-goal-restricted",
        "meta": {"profile": goal["meta"]["profile"], "security": [R]},
    }
    put_on_store(fhir, goal)
    return f"Goal/{goal['id']}"


def _withheld(call: Gateway, member: Member, client: Client, restricted: str) -> None:
    token = member_token(member)
    for labelled in (client.ref("goal-wellbeing"), client.ref("need-anxiety"), restricted):
        refused = call("GET", f"/fhir/{labelled}", token)
        assert refused.status_code in (403, 404), labelled  # unknown, or a type the role may not read
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert call("GET", f"/fhir/{labelled}/_history", token).json().get("entry") is None
    plan = call("GET", f"/fhir/{client.ref('plan')}", token)
    assert plan.status_code == 200 and "PSY" not in plan.text
    assert "hospital-psychiatry" not in plan.text  # the psychiatric activity is left out whole
    goals = call("GET", f"/fhir/Goal?subject={client.ref('client')}", token)
    assert goals.status_code == 200
    ids = {f"Goal/{e['resource']['id']}" for e in goals.json().get("entry", [])}
    assert client.ref("goal-wellbeing") not in ids and restricted not in ids
    included = call("GET", f"/fhir/CarePlan?_id={client.prefix}-plan&_include=CarePlan:goal", token)
    assert "wellbeing" not in included.text and "PSY" not in included.text


@pytest.mark.parametrize("member", [CURATOR, YOUTH_WORKER], ids=["school-curator", "youth-worker"])
def test_labelled_parts_never_reach_the_token(
    call: Gateway, fhir: httpx.Client, client: Client, member: Member
) -> None:
    restricted = _restricted_goal(fhir, client)
    assert on_store(fhir, restricted)["meta"]["security"] == [R]  # the store has it, labelled
    _withheld(call, member, client, restricted)


def test_break_the_glass_shows_them_for_reading(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    restricted = _restricted_goal(fhir, client)
    btg = member_token(CURATOR, purpose=PurposeOfUse.BTG, reason="acute crisis at school, pupil at risk")
    for labelled in (client.ref("goal-wellbeing"), restricted):
        assert call("GET", f"/fhir/{labelled}", btg).status_code == 200, labelled
    plan = call("GET", f"/fhir/{client.ref('plan')}", btg)
    assert "hospital-psychiatry" in plan.text


def _consent_lifting(consent: dict[str, Any], organization: str) -> dict[str, Any]:
    lifted = copy.deepcopy(consent)
    lifted["provision"]["provision"].append(
        {
            "type": "permit",
            "actor": [{"role": IRCP, "reference": {"reference": organization}}],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Goal"}],
            "securityLabel": [PSY, R],
        }
    )
    return lifted


def test_a_consent_naming_the_curators_organisation_lifts_the_labels(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    restricted = _restricted_goal(fhir, client)
    _withheld(call, CURATOR, client, restricted)
    put_on_store(fhir, _consent_lifting(on_store(fhir, client.ref("consent")), CURATOR.organization))
    token = member_token(CURATOR)
    for labelled in (client.ref("goal-wellbeing"), restricted):
        read = call("GET", f"/fhir/{labelled}", token)
        assert read.status_code == 200, (labelled, read.text)
        assert json.loads(read.text)["id"] == labelled.split("/")[1]
    # the lift is the curator organisation's alone: the youth worker still gets nothing
    assert call("GET", f"/fhir/{client.ref('goal-wellbeing')}", member_token(YOUTH_WORKER)).status_code == 404
