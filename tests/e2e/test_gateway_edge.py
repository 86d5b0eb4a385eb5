"""The gateway's edge, served over real HTTP: paths as sent, every request recorded, who sent it.

Requests go out through `http.client`, which sends a path exactly as written (httpx and
browsers resolve `.` and `..` first), to a gateway served by uvicorn as `yhteys gateway
serve` serves it (`tests/e2e/conftest.py`), in front of the session's HAPI.
"""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from auth.config import TOKEN_PATH
from gateway.audit.setup import open_store
from gateway.demo import DemoLoad
from gateway.demo.clients import demo_token
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.e2e.conftest import serve_gateway


def _send(
    settings: Settings, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> tuple[int, bytes, str]:
    """`method path` as written; the status, the body and the X-Request-Id sent."""
    origin = urlsplit(settings.gateway_origin)
    connection = http.client.HTTPConnection(origin.hostname or "", origin.port, timeout=60)
    request_id = uuid.uuid4().hex
    try:
        connection.putrequest(method, path, skip_host="host" in {h.lower() for h in headers or {}})
        for name, value in {"X-Request-Id": request_id, "Content-Length": str(len(body)), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read(), request_id
    finally:
        connection.close()


def _token(settings: Settings, system: str) -> str:
    return demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", system)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}


def _rest_events(settings: Settings, request_id: str) -> list[dict[str, Any]]:
    """The BALP REST events of the trail that record the request `request_id`."""
    store = open_store(settings)
    try:
        events = [json.loads(stored.event) for stored in store.events()]
    finally:
        store.close()
    return [
        event
        for event in events
        if event["type"]["code"] == "rest"
        and any(entity["what"].get("identifier", {}).get("value") == request_id for entity in event["entity"])
    ]


def _address(event: Mapping[str, Any]) -> str | None:
    return next((a["network"]["address"] for a in event["agent"] if a.get("network", {}).get("type") == "2"), None)


PATHS_THE_STORE_WOULD_RESOLVE = [
    "/fhir/Consent/.",
    "/fhir/Consent/..",
    "/fhir/Consent/%2e",
    "/fhir/Consent/%2E%2e",
    "/fhir/Patient/..%2f_history",
    "/fhir/Patient/%2e%2e/_history",
    "/fhir/CarePlan/./demo-plan",
    "/fhir/Consent/./_history",
    "/fhir/Patient/demo-client%2F_history",
]


@pytest.mark.parametrize("path", PATHS_THE_STORE_WOULD_RESOLVE)
def test_a_path_with_a_dot_segment_is_refused_and_never_a_search(served: Settings, path: str) -> None:
    status, body, request_id = _send(served, "GET", path, _bearer(_token(served, "psychiatry-ehr")))
    answer = json.loads(body)
    assert status == 400, body
    assert answer["resourceType"] == "OperationOutcome"
    [event] = _rest_events(served, request_id)
    assert "HTTP 400" in event["outcomeDesc"]


def test_the_same_resource_by_its_plain_path_is_served(served: Settings) -> None:
    status, body, _ = _send(served, "GET", "/fhir/CarePlan/demo-plan", _bearer(_token(served, "psychiatry-ehr")))
    assert status == 200 and json.loads(body)["id"] == "demo-plan"


UNROUTED = [
    ("HEAD", "/fhir/CarePlan/demo-plan", 405),
    ("OPTIONS", "/fhir/metadata", 405),
    ("TRACE", "/fhir", 405),
    ("HEAD", "/audit/AuditEvent", 405),
    ("PROPFIND", "/auth/jwks", 405),
    ("GET", "//fhir/Patient", 404),
    ("GET", "/FHIR/Patient", 404),
    ("GET", "/nothing/here", 404),
]


@pytest.mark.parametrize(("method", "path", "status"), UNROUTED, ids=[f"{m} {p}" for m, p, _ in UNROUTED])
def test_a_request_no_route_serves_is_recorded_once(served: Settings, method: str, path: str, status: int) -> None:
    answered, _, request_id = _send(served, method, path, _bearer(_token(served, "youth-system")))
    assert answered == status
    [event] = _rest_events(served, request_id)
    assert f"HTTP {status}" in event["outcomeDesc"]


def test_an_unauthenticated_request_off_the_routes_is_recorded_as_refused(served: Settings) -> None:
    status, _, request_id = _send(served, "OPTIONS", "//fhir/Patient")
    assert status == 401
    [event] = _rest_events(served, request_id)
    assert "not authenticated" in event["outcomeDesc"]


def test_a_path_above_the_fhir_base_is_recorded_once(served: Settings) -> None:
    status, _, request_id = _send(served, "GET", "/fhir/../audit/AuditEvent", _bearer(_token(served, "youth-system")))
    assert status == 400
    assert len(_rest_events(served, request_id)) == 1


def test_a_refused_token_request_is_recorded_with_the_client_it_claimed(served: Settings) -> None:
    form = b"grant_type=client_credentials&scope=system%2FCarePlan.rs&client_id=mallory-system"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body, request_id = _send(served, "POST", TOKEN_PATH, headers, form)
    assert status == 400 and json.loads(body)["error"] == "invalid_request"
    [event] = _rest_events(served, request_id)
    assert "'mallory-system'" in event["outcomeDesc"] and "invalid_request" in event["outcomeDesc"]


def test_an_issued_token_is_recorded_with_the_client_it_was_issued_to(served: Settings) -> None:
    token = _token(served, "youth-system")
    payload = token.split(".")[1]
    jti = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    store = open_store(served)
    try:
        events = [json.loads(stored.event) for stored in store.events()]
    finally:
        store.close()
    [event] = [e for e in events if e["type"]["code"] == "rest" and jti in e.get("outcomeDesc", "")]
    assert event["outcome"] == "0"  # success
    assert (
        "'youth-system'" in event["outcomeDesc"] and "PractitionerRole/demo-role-youth-worker" in event["outcomeDesc"]
    )


def test_a_key_set_request_is_recorded_once(served: Settings) -> None:
    status, _, request_id = _send(served, "GET", "/auth/jwks")
    assert status == 200
    [event] = _rest_events(served, request_id)
    assert "a public endpoint, no token asked for" in event["outcomeDesc"]  # not "no bearer token"


@pytest.fixture(scope="module")
def trusting(hapi: HapiServer, demo: DemoLoad, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A served gateway that trusts the loopback address as its reverse proxy."""
    settings = hapi.settings.with_changes(
        data_dir=tmp_path_factory.mktemp("trusting-gateway"), gateway_trusted_proxies=("127.0.0.1",)
    )
    yield from serve_gateway(settings)


def _recorded_source(settings: Settings, forwarded_for: str) -> str | None:
    headers = {**_bearer(_token(settings, "youth-system")), "X-Forwarded-For": forwarded_for}
    status, _, request_id = _send(settings, "GET", "/fhir/CarePlan/demo-plan", headers)
    assert status == 200
    [event] = _rest_events(settings, request_id)
    return _address(event)


def test_forwarded_for_from_a_peer_not_trusted_is_not_the_recorded_source(served: Settings) -> None:
    assert _recorded_source(served, "203.0.113.7") == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_is_the_recorded_source(trusting: Settings) -> None:
    assert _recorded_source(trusting, "203.0.113.7") == "203.0.113.7"
    assert _recorded_source(trusting, "198.51.100.1, 203.0.113.7, 127.0.0.1") == "203.0.113.7"
    assert _recorded_source(trusting, "not-an-address") == "127.0.0.1"


def test_a_forged_host_header_does_not_change_the_audit_links(served: Settings) -> None:
    headers = {**_bearer(_token(served, "audit-console")), "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    _send(served, "GET", "/audit/AuditEvent?_count=1", headers)  # a reading: the trail holds two events at least
    status, body, _ = _send(served, "GET", "/audit/AuditEvent?_count=1", headers)
    assert status == 200, body
    links = json.loads(body)["link"]
    assert [link["relation"] for link in links] == ["self", "next"]
    assert links[0] == {"relation": "self", "url": f"{served.gateway_origin}/audit/AuditEvent?_count=1"}
    assert links[1]["url"].startswith(f"{served.gateway_origin}/audit/AuditEvent?_count=1&_before=")
