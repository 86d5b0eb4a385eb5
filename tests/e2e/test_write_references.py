"""References in write bodies against the real HAPI: literal, visible, the client's own, or refused.

A write may carry only `Type/id` references the caller may see (and, in a transaction, the
`urn:uuid:` of an entry created in it); anything the store would resolve as a search is refused
before the store sees it, and a reference to a hidden resource is refused exactly like one to a
resource that does not exist. What was stored is checked on HAPI directly.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest

from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import CURATOR, PUBLIC_BASE, SOCIAL_WORKER, Client, Gateway, copy_demo_client
from tests.e2e.test_gateway_writes import _activity, _bundle, _put, _put_entry, _read, _stored, _writer


def _with_goal(plan: dict[str, Any], reference: str) -> dict[str, Any]:
    """`plan` with `reference` added as a goal of the curator's own (school welfare) activity."""
    changed = copy.deepcopy(plan)
    _activity(changed, "school-welfare")["detail"]["goal"] = [{"reference": reference}]
    return changed


def _issue(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue: dict[str, Any] = body["issue"][0]
    return issue


@pytest.mark.parametrize(
    "reference",
    [
        "Goal?identifier=x",
        "Goal?subject=Patient/demo-client",
        "Goal?_id=demo-goal-wellbeing",
        "http://elsewhere.example/fhir/Goal/demo-goal-studies",
        f"{PUBLIC_BASE}/Goal/demo-goal-studies",
        "Goal/demo-goal-studies/_history/1",
        "#goal",
        "Goal/.",
        "Goal/..",
        "Horoscope/today",
        "urn:uuid:5b7d3c5e-0000-4000-8000-000000000001",
    ],
)
def test_an_update_with_a_reference_that_is_no_literal_id_is_refused_before_the_store(
    call: Gateway, fhir: httpx.Client, client: Client, reference: str
) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    response = _put(call, CURATOR, _with_goal(plan, reference), etag)
    assert response.status_code == 422, response.text
    assert "activity[" in _issue(response)["diagnostics"]  # says where
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


def test_contained_resources_are_refused(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    changed = _with_goal(plan, "#g")
    changed["contained"] = [{"resourceType": "Goal", "id": "g"}]
    response = _put(call, CURATOR, changed, etag)
    assert response.status_code == 422 and "contained" in _issue(response)["diagnostics"]
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


def test_a_reference_to_a_hidden_resource_is_refused_exactly_like_a_missing_one(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    hidden = _put(call, CURATOR, _with_goal(plan, client.ref("goal-wellbeing")), etag)  # PSY: hidden from her
    missing_ref = client.ref("goal-nonexistent")
    missing = _put(call, CURATOR, _with_goal(plan, missing_ref), etag)
    assert hidden.status_code == missing.status_code == 422
    assert hidden.text.replace(client.ref("goal-wellbeing"), missing_ref) == missing.text
    assert "PSY" not in hidden.text and "details" not in _issue(hidden)
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"
    events = call.rest_events()
    refused_hidden, refused_missing = events[-2], events[-1]
    assert (refused_hidden["outcome"], refused_missing["outcome"]) == ("4", "8")  # the trail knows: denied, failed
    assert refused_hidden["outcomeDesc"] != refused_missing["outcomeDesc"]
    assert refused_hidden["_keys"]["patient"] == client.ref("client")
    visible = _put(call, CURATOR, _with_goal(plan, client.ref("goal-studies")), etag)
    assert visible.status_code == 200, visible.text
    assert _activity(_stored(fhir, client.ref("plan")), "school-welfare")["detail"]["goal"] == [
        {"reference": client.ref("goal-studies")}
    ]


def test_a_reference_into_another_clients_data_is_refused(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    other = copy_demo_client(fhir)
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    response = _put(call, CURATOR, _with_goal(plan, other.ref("goal-studies")), etag)
    assert response.status_code == 422 and "another client" in _issue(response)["diagnostics"]
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


def _new_goal(call: Gateway, client: Client, marker: str) -> dict[str, Any]:
    goal, _ = _read(call, SOCIAL_WORKER, client.ref("goal-home"))
    del goal["id"]
    goal["meta"] = {"profile": goal["meta"]["profile"]}
    goal["description"]["text"] = marker
    return goal


def _goals_with(fhir: httpx.Client, client: Client, marker: str) -> list[dict[str, Any]]:
    found = fhir.get("/Goal", params={"subject": client.ref("client"), "_count": "100"}).json()
    return [e["resource"] for e in found.get("entry", []) if e["resource"]["description"]["text"] == marker]


def test_a_create_with_a_search_for_its_client_is_refused_and_nothing_is_created(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    marker = f"search-{uuid.uuid4().hex}"
    goal = _new_goal(call, client, marker)
    goal["subject"] = {"reference": f"Patient?_id={client.ref('client').split('/')[1]}"}
    response = call("POST", "/fhir/Goal", _writer(SOCIAL_WORKER), json.dumps(goal).encode(), FHIR_JSON)
    assert response.status_code == 422, response.text
    assert "Goal.subject.reference" in _issue(response)["diagnostics"]
    assert _goals_with(fhir, client, marker) == []


def test_a_transaction_may_reference_its_own_creates_and_nothing_the_store_would_search(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    marker = f"urn-{uuid.uuid4().hex}"
    urn = f"urn:uuid:{uuid.uuid4()}"
    goal = _new_goal(call, client, marker)
    plan, etag = _read(call, SOCIAL_WORKER, client.ref("plan"))
    _activity(plan, "child-protection")["detail"]["goal"] = [{"reference": urn}]
    create = {"fullUrl": urn, "resource": goal, "request": {"method": "POST", "url": "Goal"}}
    searching = copy.deepcopy(plan)
    _activity(searching, "child-protection")["detail"]["goal"] = [{"reference": "Goal?description=x"}]
    refused = call(
        "POST", "/fhir", _writer(SOCIAL_WORKER), _bundle("transaction", create, _put_entry(searching, etag)), FHIR_JSON
    )
    assert refused.status_code == 422 and "Bundle.entry[1]" in _issue(refused)["diagnostics"]
    assert _goals_with(fhir, client, marker) == [] and _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"
    done = call(
        "POST", "/fhir", _writer(SOCIAL_WORKER), _bundle("transaction", create, _put_entry(plan, etag)), FHIR_JSON
    )
    assert done.status_code == 200, done.text
    (created,) = _goals_with(fhir, client, marker)
    stored = _stored(fhir, client.ref("plan"))
    assert _activity(stored, "child-protection")["detail"]["goal"] == [{"reference": f"Goal/{created['id']}"}]
