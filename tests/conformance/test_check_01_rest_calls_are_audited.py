"""Conformance check 1 (STANDARDS.md): "Every patient-data REST call yields a BALP AuditEvent:
subtype/action right, patient entity (audit-entity-type#1, object-role#1), agent.purposeOfUse,
the token jti in agent.policy."

A read, a search and an update of the client's data go through the in-process gateway on the
real HAPI; the gateway's own trail must hold one REST event for each, shaped as BALP says
(codes from tests/conformance/fixtures/balp_rest.json).
"""

from __future__ import annotations

import json
from typing import Any

from gateway.fhir.media import FHIR_JSON
from tests.conformance.support import fixture, jti_of, member_token
from tests.e2e.gateway_harness import CURATOR, WRITE_SCOPES, Client, Gateway

BALP = fixture("balp_rest.json")


def _codes(codings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in codings}


def _assert_balp_rest(event: dict[str, Any], interaction: str, patient: str, jti: str) -> None:
    assert (event["type"]["system"], event["type"]["code"]) == (BALP["type"]["system"], BALP["type"]["code"])
    assert _codes(event["subtype"]) == {(BALP["subtype_system"], interaction)}
    assert event["action"] == BALP["interactions"][interaction]
    assert event["outcome"] == "0"
    want_type, want_role = BALP["patient_entity"]["type"], BALP["patient_entity"]["role"]
    patients = [
        e
        for e in event["entity"]
        if (e.get("type", {}).get("system"), e.get("type", {}).get("code")) == (want_type["system"], want_type["code"])
        and (e.get("role", {}).get("system"), e.get("role", {}).get("code")) == (want_role["system"], want_role["code"])
    ]
    assert [e["what"]["reference"] for e in patients] == [patient]
    (user,) = [a for a in event["agent"] if a["requestor"]]
    assert _codes(user["purposeOfUse"][0]["coding"]) == {
        ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT")
    }
    assert BALP["jti_prefix"] + jti in user["policy"]


def test_a_read_a_search_and_an_update_each_yield_a_balp_rest_event(call: Gateway, client: Client) -> None:
    reader = member_token(CURATOR, WRITE_SCOPES)
    patient = client.ref("client")
    read = call("GET", f"/fhir/{client.ref('plan')}", reader)
    assert read.status_code == 200, read.text
    search = call("GET", f"/fhir/Goal?subject={patient}", reader)
    assert search.status_code == 200, search.text
    plan = read.json()
    school = next(a for a in plan["activity"] if "school-welfare" in json.dumps(a["extension"]))
    school["detail"]["status"] = "on-hold"
    update = call(
        "PUT",
        f"/fhir/{client.ref('plan')}",
        reader,
        json.dumps(plan).encode(),
        FHIR_JSON,
        {"If-Match": read.headers["etag"]},
    )
    assert update.status_code == 200, update.text
    recorded = call.rest_events()
    events = [event for event in recorded if "outcome" in event]
    assert len(events) == 3  # one per call, none lost, none doubled
    intents = [event for event in recorded if "outcome" not in event]
    assert len(intents) == 1 and intents[0]["outcomeDesc"].startswith("intended: PUT")  # recorded before the store
    for event, interaction in zip(events, ("read", "search-type", "update"), strict=True):
        _assert_balp_rest(event, interaction, patient, jti_of(reader))


def test_each_token_is_named_by_its_own_jti(call: Gateway) -> None:
    first, second = member_token(CURATOR), member_token(CURATOR)
    assert jti_of(first) != jti_of(second)
    for token in (first, second):
        assert call("GET", "/fhir/CarePlan/demo-plan", token).status_code == 200
    policies = [next(a for a in e["agent"] if a["requestor"])["policy"] for e in call.rest_events()]
    assert [BALP["jti_prefix"] + jti_of(t) in p for t, p in zip((first, second), policies, strict=True)] == [True, True]
    assert BALP["jti_prefix"] + jti_of(second) not in policies[0]
