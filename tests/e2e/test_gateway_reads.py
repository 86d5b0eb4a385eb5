"""Reads through the gateway against the real HAPI: each team role sees what it should.

The gateway runs in-process (httpx's ASGI transport) and forwards to the session's HAPI; tokens
are minted with the gateway's own issuer (the token endpoint is covered by tests/unit/auth).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import (
    CURATOR,
    ISSUER,
    PSYCH_NURSE,
    PUBLIC_BASE,
    YOUTH_WORKER,
    Client,
    Gateway,
    assert_answered_as_missing,
)
from tests.e2e.gateway_harness import token as _token


def _sectors(plan: dict[str, Any]) -> set[str]:
    return {
        ext["valueCoding"]["code"]
        for activity in plan.get("activity", [])
        for ext in activity["extension"]
        if ext["url"].endswith("/activity-owning-sector")
    }


def test_psychiatric_nurse_sees_the_whole_plan(call: Gateway) -> None:
    response = call("GET", "/fhir/CarePlan/demo-plan", _token(PSYCH_NURSE))
    assert response.status_code == 200, response.text
    assert "hospital-psychiatry" in _sectors(response.json())
    assert response.headers["etag"]


def test_youth_worker_sees_the_plan_without_its_psychiatric_parts(call: Gateway) -> None:
    response = call("GET", "/fhir/CarePlan/demo-plan", _token(YOUTH_WORKER))
    assert response.status_code == 200, response.text
    plan = response.json()
    assert _sectors(plan) == {"school-welfare", "child-protection", "municipal-youth-services"}
    text = json.dumps(plan)
    assert "PSY" not in text and "demo-goal-wellbeing" not in text and "demo-need-anxiety" not in text


def test_a_hidden_resource_is_answered_like_a_missing_one(call: Gateway) -> None:
    hidden = call("GET", "/fhir/Goal/demo-goal-wellbeing", _token(YOUTH_WORKER))
    missing = call("GET", "/fhir/Goal/demo-goal-nowhere", _token(YOUTH_WORKER))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {
        **missing.json(),
        "issue": [{**missing.json()["issue"][0], "diagnostics": "Goal/demo-goal-wellbeing is not known"}],
    }
    assert "PSY" not in hidden.text and "label" not in hidden.text
    hidden_event, missing_event = call.rest_events()
    assert (
        hidden_event["outcome"] == "4" and "psy-hidden-by-default" in hidden_event["outcomeDesc"]
    )  # the audit knows why
    assert missing_event["outcome"] == "8" and "psy" not in missing_event["outcomeDesc"].lower()


def test_curator_search_leaves_out_hidden_goals_and_the_total(call: Gateway) -> None:
    response = call("GET", "/fhir/Goal?subject=Patient/demo-client", _token(CURATOR))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert "total" not in bundle
    assert sorted(e["resource"]["id"] for e in bundle["entry"]) == ["demo-goal-home", "demo-goal-studies"]
    assert all(e["fullUrl"].startswith(PUBLIC_BASE + "/") for e in bundle["entry"])
    assert all(link["url"].startswith(PUBLIC_BASE) for link in bundle["link"])


def test_paging_goes_through_the_gateway_and_is_filtered_again(call: Gateway) -> None:
    first = call("GET", "/fhir/Goal?subject=Patient/demo-client&_count=1", _token(CURATOR)).json()
    seen = [e["resource"]["id"] for e in first.get("entry", [])]
    next_url = next((link["url"] for link in first["link"] if link["relation"] == "next"), None)
    while next_url:
        assert next_url.startswith(PUBLIC_BASE)
        page = call("GET", next_url.removeprefix(ISSUER), _token(CURATOR))
        assert page.status_code == 200, page.text
        seen += [e["resource"]["id"] for e in page.json().get("entry", [])]
        next_url = next((link["url"] for link in page.json()["link"] if link["relation"] == "next"), None)
    assert sorted(seen) == ["demo-goal-home", "demo-goal-studies"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/fhir/Patient?_has:CarePlan:subject:status=active", 400),
        ("/fhir/Goal?subject=Patient/demo-client&_summary=count", 400),
        ("/fhir/Horoscope", 404),  # not a resource type
        ("/fhir/Observation", 403),  # a type no rule lets a curator read
        ("/fhir/CarePlan/bad%20id", 400),
    ],
)
def test_unsafe_or_invalid_requests_are_refused(call: Gateway, path: str, status: int) -> None:
    response = call("GET", path, _token(CURATOR))
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_no_token_is_401_and_every_request_is_audited(call: Gateway) -> None:
    assert call("GET", "/fhir/CarePlan/demo-plan").status_code == 401
    assert call("GET", "/fhir/CarePlan/demo-plan", "not-a-token").status_code == 401
    call("GET", "/fhir/Goal/demo-goal-wellbeing", _token(YOUTH_WORKER))
    events = call.rest_events()
    assert [e["outcome"] for e in events] == ["4", "4", "4"]  # all three refused, all three recorded
    assert ["401" in e["outcomeDesc"] for e in events] == [True, True, False]
    assert events[2]["_keys"]["agent"] == YOUTH_WORKER.role
    assert events[2]["_keys"]["patient"] == "Patient/demo-client"  # the audit knows whose data it refused


def _set_consent_status(fhir: httpx.Client, status: str) -> None:
    current = fhir.get("/Consent/demo-consent")
    consent = {**current.json(), "status": status}
    updated = fhir.put(
        "/Consent/demo-consent",
        json=consent,
        headers={"Content-Type": FHIR_JSON, "If-Match": current.headers["etag"]},
    )
    assert updated.status_code == 200, updated.text


def test_a_withdrawn_consent_applies_to_the_very_next_request(call: Gateway, fhir: httpx.Client) -> None:
    token = _token(YOUTH_WORKER)
    assert call("GET", "/fhir/CarePlan/demo-plan", token).status_code == 200
    _set_consent_status(fhir, "inactive")
    try:
        withdrawn = call("GET", "/fhir/CarePlan/demo-plan", token)
        missing = call("GET", "/fhir/CarePlan/no-such-plan", token)
        assert withdrawn.status_code == 404  # refused by the consent: answered as an id that does not exist
        assert_answered_as_missing(withdrawn, missing, "CarePlan/demo-plan", "CarePlan/no-such-plan")
        search = call("GET", "/fhir/Goal?subject=Patient/demo-client", token)
        assert search.status_code == 200 and "entry" not in search.json()
        # other team members are not affected: their access rests on their role
        assert call("GET", "/fhir/CarePlan/demo-plan", _token(CURATOR)).status_code == 200
    finally:
        _set_consent_status(fhir, "active")
    assert call("GET", "/fhir/CarePlan/demo-plan", token).status_code == 200


def test_metadata_describes_the_gateway_and_its_smart_security_without_a_token(call: Gateway) -> None:
    response = call("GET", "/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    rest = statement["rest"][0]
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in rest["security"]["extension"][0]["extension"]}
    assert uris["token"] == f"{ISSUER}/auth/token"
    types = {r["type"] for r in rest["resource"]}
    assert {"CarePlan", "Goal", "CareTeam"} <= types and "Observation" not in types
    assert statement["implementation"]["url"] == PUBLIC_BASE
    plan = next(r for r in rest["resource"] if r["type"] == "CarePlan")
    params = {p["name"]: p["type"] for p in plan["searchParam"]}
    assert params["subject"] == "reference" and params["status"] == "token"
    assert "_has" not in params and "performer" not in params


FORM = "application/x-www-form-urlencoded"


def test_post_search_is_filtered_like_get(call: Gateway) -> None:
    response = call("POST", "/fhir/Goal/_search", _token(CURATOR), b"subject=Patient/demo-client", FORM)
    assert response.status_code == 200, response.text
    assert sorted(e["resource"]["id"] for e in response.json()["entry"]) == ["demo-goal-home", "demo-goal-studies"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"_has:CarePlan:subject:status=active", FORM, 400),  # unsafe parameter hidden in the body
        (b'{"subject": "Patient/demo-client"}', "application/json", 415),
        (b"subject=" + b"x" * 70_000, FORM, 413),
    ],
)
def test_post_search_bodies_are_checked(call: Gateway, body: bytes, content_type: str, status: int) -> None:
    response = call("POST", "/fhir/Goal/_search", _token(CURATOR), body, content_type)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_protection_order_keeps_the_clients_address_back(call: Gateway, fhir: httpx.Client) -> None:
    client = fhir.get("/Patient/demo-client").json()
    protected = {
        **client,
        "id": "demo-client-protected",
        "meta": {
            "profile": client["meta"]["profile"],
            "security": [
                {
                    "system": "https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs",
                    "code": "TURVAKIELTO",
                }
            ],
        },
    }
    stored = fhir.put("/Patient/demo-client-protected", json=protected, headers={"Content-Type": FHIR_JSON})
    assert stored.status_code in (200, 201), stored.text
    assert fhir.get("/Patient/demo-client-protected").json()["address"]  # the store has it
    for member in (CURATOR, PSYCH_NURSE):
        read = call("GET", "/fhir/Patient/demo-client-protected", _token(member))
        assert read.status_code == 200, read.text
        assert "address" not in read.json() and "Esimerkkikatu" not in read.text
        search = call("GET", "/fhir/Patient?_id=demo-client-protected", _token(member))
        assert search.status_code == 200 and "Esimerkkikatu" not in search.text
    assert "Esimerkkikatu" in call("GET", "/fhir/Patient/demo-client", _token(CURATOR)).text


def _ids(bundle: dict[str, Any]) -> list[str]:
    return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", []))


def test_included_resources_are_decided_one_by_one(call: Gateway, client: Client) -> None:
    included = call("GET", f"/fhir/CarePlan?_id={client.prefix}-plan&_include=CarePlan:goal", _token(YOUTH_WORKER))
    assert included.status_code == 200, included.text
    assert _ids(included.json()) == sorted([client.ref("plan"), client.ref("goal-home"), client.ref("goal-studies")])
    reverse = call("GET", f"/fhir/Patient?_id={client.prefix}-client&_revinclude=Goal:subject", _token(CURATOR))
    assert reverse.status_code == 200, reverse.text
    assert _ids(reverse.json()) == sorted([client.ref("client"), client.ref("goal-home"), client.ref("goal-studies")])
    assert "wellbeing" not in included.text + reverse.text and "total" not in reverse.json()


def test_history_is_redacted_version_by_version(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan = fhir.get(f"/{client.ref('plan')}").json()
    plan["description"] += " (päivitetty)"
    assert fhir.put(f"/{client.ref('plan')}", json=plan, headers={"Content-Type": FHIR_JSON}).status_code == 200
    history = call("GET", f"/fhir/{client.ref('plan')}/_history", _token(YOUTH_WORKER))
    assert history.status_code == 200, history.text
    versions = [e["resource"] for e in history.json()["entry"]]
    assert len({v["meta"]["versionId"] for v in versions}) == 2  # the two, named by what the caller sees
    assert all(len(v["activity"]) == 3 for v in versions) and "PSY" not in history.text
    hidden = call("GET", f"/fhir/{client.ref('goal-wellbeing')}/_history", _token(YOUTH_WORKER))
    assert hidden.status_code == 404  # the history of a hidden resource is that of a missing one
    old = call("GET", f"/fhir/{client.ref('goal-wellbeing')}/_history/1", _token(YOUTH_WORKER))
    assert old.status_code == 404


def test_everything_and_other_operations_are_not_served(call: Gateway, client: Client) -> None:
    for path in (f"/fhir/{client.ref('client')}/$everything", "/fhir/$graphql", "/fhir/CarePlan/$validate"):
        response = call("GET", path, _token(PSYCH_NURSE))
        assert response.status_code == 405, path
        assert response.json()["issue"][0]["code"] == "not-supported"


_PSYCHIATRY = ("demo-role-psych-nurse", "demo-role-psychiatrist")


@pytest.mark.parametrize("path", ["/fhir/CareTeam/demo-team", "/fhir/CarePlan/demo-plan"])
def test_youth_worker_sees_no_trace_of_the_psychiatry_team_members(call: Gateway, path: str) -> None:
    response = call("GET", path, _token(YOUTH_WORKER))
    assert response.status_code == 200, response.text
    text = response.text
    assert not any(role in text for role in _PSYCHIATRY)
    assert "PSY" not in text and "plan-security-label" not in text
    members = {p["member"]["reference"] for p in response.json().get("participant", [])}
    contributors = {c["reference"] for c in response.json().get("contributor", [])}
    assert (members or contributors) >= {"PractitionerRole/demo-role-youth-worker"}  # the rest is still there


@pytest.mark.parametrize(
    ("path", "element"), [("/fhir/CareTeam/demo-team", "participant"), ("/fhir/CarePlan/demo-plan", "contributor")]
)
def test_psychiatric_nurse_sees_the_psychiatry_team_members(call: Gateway, path: str, element: str) -> None:
    response = call("GET", path, _token(PSYCH_NURSE))
    assert response.status_code == 200, response.text
    parts = response.json()[element]
    named = {json.dumps(part) for part in parts if any(role in json.dumps(part) for role in _PSYCHIATRY)}
    assert len(named) == 2 and all('"code": "PSY"' in part for part in named)


def test_youth_worker_cannot_search_or_include_by_team_participant(call: Gateway) -> None:
    for query in (
        "participant=PractitionerRole/demo-role-psych-nurse",
        "subject=Patient/demo-client&_include=CareTeam:participant",
    ):
        response = call("GET", f"/fhir/CareTeam?{query}", _token(YOUTH_WORKER))
        assert response.status_code == 400, (query, response.text)
