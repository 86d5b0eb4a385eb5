"""Conformance check 3 (STANDARDS.md): "A denied request yields an AuthZconsent event with
outcome ≠ 0 and an OperationOutcome to the caller; a break-the-glass request carries purpose
BTG and is findable by subtype and patient."

Denials (a write outside the caller's sector, a read of a PSY-labelled goal) go through the
in-process gateway on the real HAPI: the caller gets an OperationOutcome, and the trail holds
an AuthZ decision event (DCM#110113, BALP AuthZsubType) with outcome 4. A break-the-glass read
is recorded with purpose BTG and found by the keys auditors search on (subtype, patient,
purpose), as the audit API uses them.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.fhir.codes import PurposeOfUse
from gateway.fhir.media import FHIR_JSON
from tests.conformance.support import authz_events, member_token
from tests.e2e.gateway_harness import CURATOR, WRITE_SCOPES, YOUTH_WORKER, Client, Gateway

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUTHZ_SUBTYPES = "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"


def _assert_denial_event(event: dict[str, Any], patient: str, reason: str) -> None:
    assert (event["type"]["system"], event["type"]["code"]) == (DCM, "110113")
    assert event["subtype"][0]["system"] == AUTHZ_SUBTYPES
    assert event["subtype"][0]["code"] in ("AuthZ-Consent", "AuthZ-Role")
    assert event["outcome"] != "0" and event["outcome"] == "4"
    assert any(e["what"].get("reference") == patient for e in event["entity"])
    assert reason in event["outcomeDesc"]


def test_a_denied_write_yields_an_operation_outcome_and_an_authz_event(call: Gateway, client: Client) -> None:
    writer = member_token(CURATOR, WRITE_SCOPES)
    read = call("GET", f"/fhir/{client.ref('plan')}", writer)
    plan = read.json()
    other = next(a for a in plan["activity"] if "child-protection" in json.dumps(a["extension"]))
    other["detail"]["status"] = "cancelled"
    body = json.dumps(plan).encode()
    denied = call("PUT", f"/fhir/{client.ref('plan')}", writer, body, FHIR_JSON, {"If-Match": read.headers["etag"]})
    assert denied.status_code == 403
    outcome = denied.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    (event,) = [e for e in authz_events(call) if e["outcome"] != "0"]
    _assert_denial_event(event, client.ref("client"), "write-outside-own-sector")
    assert call.rest_events()[-1]["outcome"] == "4"  # the REST event says it was refused too


def test_a_refused_read_of_a_labelled_goal_yields_an_authz_event(call: Gateway) -> None:
    hidden = call("GET", "/fhir/Goal/demo-goal-wellbeing", member_token(YOUTH_WORKER))
    assert hidden.status_code == 404  # answered as unknown, never confirmed
    assert hidden.json()["resourceType"] == "OperationOutcome"
    (event,) = authz_events(call)
    _assert_denial_event(event, "Patient/demo-client", "psy-hidden-by-default")


def test_a_permitted_read_is_no_denial(call: Gateway) -> None:
    assert call("GET", "/fhir/CarePlan/demo-plan", member_token(CURATOR)).status_code == 200
    assert all(e["outcome"] == "0" for e in authz_events(call))
    assert [e["outcome"] for e in call.rest_events()] == ["0"]


def test_a_break_the_glass_read_carries_btg_and_is_findable(call: Gateway) -> None:
    btg = member_token(CURATOR, purpose=PurposeOfUse.BTG, reason="acute crisis at school, pupil at risk")
    assert call("GET", "/fhir/CarePlan/demo-plan", member_token(CURATOR)).status_code == 200  # an ordinary read
    emergency = call("GET", "/fhir/Goal/demo-goal-wellbeing", btg)
    assert emergency.status_code == 200, emergency.text
    events = call.rest_events()
    found = [e for e in events if e["_keys"]["subtype"] == "read" and e["_keys"]["patient"] == "Patient/demo-client"]
    assert len(found) == 2
    btg_events = [e for e in found if e["_keys"]["purpose"] == "BTG"]
    (event,) = btg_events
    assert str(event["_keys"]["entity"]).startswith("Goal/demo-goal-wellbeing/_history/")  # the version read
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "BTG"
    user = next(a for a in event["agent"] if a["requestor"])
    assert user["purposeOfUse"][0]["coding"][0]["code"] == "BTG"
    assert "acute crisis at school" in json.dumps(user["purposeOfUse"])  # the stated reason is kept
