"""Conformance check 2 (STANDARDS.md): "A search touching several patients yields one
AuditEvent per patient, with the raw query base64 in entity.query (object-role#24)."

One search through the in-process gateway finds two clients (the demo client and a private
copy of her); the trail must then hold exactly two REST events, one naming each client and no
other, each carrying the query as sent, base64-encoded, in an entity of role object-role#24.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.conformance.support import fixture, member_token
from tests.e2e.gateway_harness import CURATOR, Client, Gateway

BALP = fixture("balp_rest.json")


def _patients(event: dict[str, Any]) -> list[str]:
    code = BALP["patient_entity"]["type"]["code"]
    return [e["what"]["reference"] for e in event["entity"] if e.get("type", {}).get("code") == code]


def _queries(event: dict[str, Any]) -> list[str]:
    role = BALP["query_role"]
    return [
        base64.b64decode(e["query"]).decode()
        for e in event["entity"]
        if (e.get("role", {}).get("system"), e.get("role", {}).get("code")) == (role["system"], role["code"])
    ]


def test_a_search_over_two_clients_yields_one_event_per_client(call: Gateway, client: Client) -> None:
    query = f"_id=demo-client,{client.prefix}-client"
    response = call("GET", f"/fhir/Patient?{query}", member_token(CURATOR))
    assert response.status_code == 200, response.text
    found = sorted(f"Patient/{e['resource']['id']}" for e in response.json()["entry"])
    assert found == sorted(["Patient/demo-client", client.ref("client")])
    events = call.rest_events()
    assert sorted(p for e in events for p in _patients(e)) == found  # one event per client
    assert all(len(_patients(e)) == 1 for e in events)  # each event carries only its own client
    for event in events:
        assert event["subtype"][0]["code"] == "search-type" and event["action"] == "E"
        (raw,) = _queries(event)
        assert raw.endswith(f"Patient?{query}"), raw


def test_a_search_over_one_client_yields_one_event(call: Gateway, client: Client) -> None:
    response = call("GET", f"/fhir/Goal?subject={client.ref('client')}", member_token(CURATOR))
    assert response.status_code == 200 and response.json()["entry"]
    (event,) = call.rest_events()
    assert _patients(event) == [client.ref("client")]
    assert _queries(event) and _queries(event)[0].endswith(f"Goal?subject={client.ref('client')}")
