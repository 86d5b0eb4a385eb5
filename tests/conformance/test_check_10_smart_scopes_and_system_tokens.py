"""Conformance check 10 (STANDARDS.md): "Scopes follow SMART v2 syntax and a grant is never
wider than requested and allowed; system tokens come only from private_key_jwt with exp ≤ 5 min
and an unused jti."

The gateway's scope parser takes SMART App Launch v2's published scope examples
(tests/conformance/fixtures/smart_v2_scopes.json) to their canonical form and refuses what
breaks the syntax. The real auth app (in-process, as tests/unit/auth runs it, with registered
client keys) grants only the intersection of what is requested and what the client is allowed,
and issues a system token only for a client_credentials request authenticated by a signed
private_key_jwt assertion living at most 300 s whose jti was never used; a client secret, an
unsigned or HMAC assertion, a 301 s assertion and a replayed jti are all refused.
"""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from auth.assertion import JWT_BEARER
from auth.config import AuthConfig
from auth.scopes import ScopeSyntaxError, parse_scope
from tests.conformance.support import fixture
from tests.unit.auth.support import YOUTH, ManualClock, TestClient, claims_for, public_jwk, sign, sign_hmac, unsigned
from tests.unit.auth.test_server import assert_oauth_error, post, token_form, verifier_for, youth_assertion

SCOPES = fixture("smart_v2_scopes.json")
YOUTH_ALLOWED = {"system/CarePlan.rs", "system/CareTeam.rs", "system/Goal.rs"}  # tests/unit/auth/support.py


@pytest.mark.parametrize(("text", "canonical"), sorted(SCOPES["valid"].items()))
def test_published_smart_v2_scopes_parse_to_their_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_scope(text)) == canonical


@pytest.mark.parametrize("text", SCOPES["invalid"])
def test_scopes_breaking_the_syntax_are_refused(text: str) -> None:
    with pytest.raises(ScopeSyntaxError):
        parse_scope(text)


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("system/*.cruds", "system/CarePlan.rs system/CareTeam.rs system/Goal.rs"),  # allowed caps it
        ("system/CarePlan.r", "system/CarePlan.r"),  # the request caps it
        ("system/CarePlan.cruds user/*.cruds patient/*.rs system/Goal.s", "system/CarePlan.rs system/Goal.s"),
    ],
)
def test_a_grant_is_never_wider_than_requested_and_allowed(
    http: TestClient, config: AuthConfig, youth_key: ECKey, clock: ManualClock, requested: str, granted: str
) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock), requested))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == granted
    principal = verifier_for(config).authenticate(response.json()["access_token"])
    assert " ".join(str(s) for s in principal.scopes) == granted  # the token itself, not only the answer
    for scope in granted.split():
        assert any(str(parse_scope(scope)).startswith(a.split(".")[0]) for a in YOUTH_ALLOWED)


def test_a_system_token_comes_from_a_private_key_jwt(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock)))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer" and response.json()["access_token"]


def test_a_client_secret_gets_no_token(http: TestClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": YOUTH,
        "client_secret": "s3cret",
        "scope": "system/Goal.rs",
    }
    response = post(http, "/auth/token", form)
    assert response.status_code in (400, 401) and "access_token" not in response.text


def test_unsigned_or_hmac_assertions_get_no_token(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    claims = claims_for(YOUTH, clock())
    assert_oauth_error(post(http, "/auth/token", token_form(unsigned(claims, kid="youth-1"))), 401, "invalid_client")
    pem = str(public_jwk(youth_key))
    hmac_form = token_form(sign_hmac(claims_for(YOUTH, clock()), pem.encode(), kid="youth-1"))
    assert_oauth_error(post(http, "/auth/token", hmac_form), 401, "invalid_client")


@pytest.mark.parametrize(("lifetime", "accepted"), [(60, True), (300, True), (301, False), (3600, False)])
def test_an_assertion_lives_at_most_five_minutes(
    http: TestClient, youth_key: ECKey, clock: ManualClock, lifetime: int, accepted: bool
) -> None:
    assertion = sign(claims_for(YOUTH, clock(), lifetime=lifetime), youth_key)
    response = post(http, "/auth/token", token_form(assertion))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_oauth_error(response, 401, "invalid_client")


def test_a_used_jti_is_never_accepted_again(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    first = claims_for(YOUTH, clock())
    assert post(http, "/auth/token", token_form(sign(first, youth_key))).status_code == 200
    clock.advance(10)
    again = claims_for(YOUTH, clock(), jti=first["jti"])  # a fresh assertion, the same jti
    assert_oauth_error(post(http, "/auth/token", token_form(sign(again, youth_key))), 401, "invalid_client")
    assert JWT_BEARER == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
