"""Conformance check 11 (STANDARDS.md): "Introspection (RFC 7662) returns active, scope,
client_id and exp."

The real auth app (in-process, as tests/unit/auth runs it) issues a token and introspects it
for an authenticated client: the answer carries RFC 7662's active, scope, client_id and exp
with the types of the RFC's example (tests/conformance/fixtures/rfc7662_introspection.json)
and the values of the token issued; an expired or unknown token is answered exactly as the RFC
answers an inactive one, revealing nothing.
"""

from __future__ import annotations

from joserfc.jwk import ECKey

from tests.conformance.support import fixture
from tests.unit.auth.support import YOUTH, ManualClock, TestClient
from tests.unit.auth.test_server import get_token, introspection_form, post

RFC7662 = fixture("rfc7662_introspection.json")
TYPES = {"bool": bool, "str": str, "int": int}


def test_an_active_token_is_introspected_with_the_rfc_fields(
    http: TestClient, youth_key: ECKey, clock: ManualClock
) -> None:
    token = get_token(http, youth_key, clock)
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    for name, kind in RFC7662["active_response_types"].items():
        assert isinstance(body[name], TYPES[kind]), name
    assert body["active"] is True
    assert body["scope"].split(" ") == ["system/CarePlan.rs", "system/Goal.rs"]  # space-separated, as granted
    assert body["client_id"] == YOUTH
    assert body["exp"] > int(clock()) and body["exp"] - int(clock()) <= 300


def test_an_expired_token_is_inactive_and_nothing_more(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    token = get_token(http, youth_key, clock)
    clock.advance(301)
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, token))
    assert response.status_code == 200
    assert response.json() == RFC7662["inactive_response"]


def test_an_unknown_token_is_inactive_and_nothing_more(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, "not.a.token"))
    assert response.status_code == 200
    assert response.json() == RFC7662["inactive_response"]
