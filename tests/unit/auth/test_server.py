"""The auth app end to end, in-process through TestClient: token, introspection, JWKS, discovery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey

from auth.assertion import JWT_BEARER
from auth.claims import BTG_REASON_CLAIM, PURPOSE_OF_USE_CLAIM
from auth.config import AuthConfig
from auth.keys import SigningKeys, generate_signing_key
from auth.principal import TokenVerifier
from auth.server import create_auth_app
from gateway.fhir.codes import Sector
from tests.unit.auth.support import (
    FHIR_AUDIENCE,
    INTROSPECTION_URL,
    ISSUER,
    PSYCH,
    PSYCH_NURSE,
    PSYCH_ORG,
    TOKEN_URL,
    YOUTH,
    YOUTH_WORKER,
    ManualClock,
    MemoryDirectory,
    TestClient,
    claims_for,
    sign,
    unsigned,
)

FORM = {"content-type": "application/x-www-form-urlencoded"}


def token_form(assertion: str, scope: str = "system/CarePlan.rs", **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": scope,
        **extra,
    }


def youth_assertion(
    key: ECKey,
    clock: ManualClock,
    *,
    aud: str = TOKEN_URL,
    practitioner_role: str = YOUTH_WORKER,
    extra: Mapping[str, object] | None = None,
) -> str:
    claims = claims_for(YOUTH, clock(), aud=aud, practitioner_role=practitioner_role)
    claims.update(extra or {})
    return sign(claims, key)


def psych_assertion(key: RSAKey, clock: ManualClock) -> str:
    return sign(claims_for(PSYCH, clock(), practitioner_role=PSYCH_NURSE), key, alg="RS384")


def post(http: TestClient, url: str, form: Mapping[str, str]) -> httpx.Response:
    response: httpx.Response = http.post(url, data=dict(form))
    return response


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert "Traceback" not in response.text and "Error(" not in response.text
    assert response.headers["cache-control"] == "no-store"


def verifier_for(config: AuthConfig) -> TokenVerifier:
    return TokenVerifier(config.signing_keys, issuer=ISSUER, audience=FHIR_AUDIENCE, clock=config.clock)


# --- token endpoint ---------------------------------------------------------------------------


def test_an_es384_client_gets_a_token(
    http: TestClient, config: AuthConfig, youth_key: ECKey, clock: ManualClock
) -> None:
    form = token_form(youth_assertion(youth_key, clock), "system/CarePlan.rs system/Goal.r")
    response = post(http, "/auth/token", form)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/CarePlan.rs system/Goal.r"
    principal = verifier_for(config).authenticate(body["access_token"])
    assert principal.client_id == YOUTH
    assert principal.sector is Sector.MUNICIPAL_YOUTH_SERVICES
    assert principal.team_roles == ("youth-worker",)
    assert principal.purpose_of_use.value == "TREAT"


def test_an_rs384_client_gets_a_token(
    http: TestClient, config: AuthConfig, psych_key: RSAKey, clock: ManualClock
) -> None:
    response = post(http, "/auth/token", token_form(psych_assertion(psych_key, clock), "system/CarePlan.cruds"))
    assert response.status_code == 200, response.text
    principal = verifier_for(config).authenticate(response.json()["access_token"])
    assert (principal.client_id, principal.organization, principal.practitioner_role) == (PSYCH, PSYCH_ORG, PSYCH_NURSE)
    assert [str(s) for s in principal.scopes] == ["system/CarePlan.cruds"]


def test_a_scope_escalation_gets_only_what_is_allowed(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    requested = "system/*.cruds system/CarePlan.cud user/*.cruds system/Patient.rs openid"
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock), requested))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "system/CarePlan.rs system/CareTeam.rs system/Goal.rs"


def test_a_request_for_nothing_grantable_is_invalid_scope(
    http: TestClient, youth_key: ECKey, clock: ManualClock
) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock), "system/CarePlan.cud openid"))
    assert_oauth_error(response, 400, "invalid_scope")


def test_break_the_glass_with_a_reason_is_in_the_token(
    http: TestClient, config: AuthConfig, youth_key: ECKey, clock: ManualClock
) -> None:
    reason = "Client in acute crisis at the youth centre"
    extra: dict[str, object] = {PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: reason}
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock, extra=extra)))
    assert response.status_code == 200, response.text
    principal = verifier_for(config).authenticate(response.json()["access_token"])
    assert (principal.purpose_of_use.value, principal.btg_reason) == ("BTG", reason)


@pytest.mark.parametrize(
    "claims",
    [{PURPOSE_OF_USE_CLAIM: "BTG"}, {PURPOSE_OF_USE_CLAIM: "HMARKT"}, {BTG_REASON_CLAIM: "Client in acute crisis"}],
    ids=["BTG without reason", "unknown purpose", "reason without BTG"],
)
def test_bad_acting_claims_are_invalid_request(
    http: TestClient, youth_key: ECKey, clock: ManualClock, claims: dict[str, object]
) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock, extra=claims)))
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("role", "description"),
    [
        (PSYCH_NURSE, "another organisation"),
        ("PractitionerRole/demo-role-retired", "not active"),
        ("PractitionerRole/nobody", "not known"),
    ],
    ids=["professional of another organisation", "inactive professional", "unknown professional"],
)
def test_the_acting_professional_must_be_an_active_colleague(
    http: TestClient, youth_key: ECKey, clock: ManualClock, role: str, description: str
) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock, practitioner_role=role)))
    assert_oauth_error(response, 400, "invalid_grant")
    assert description.split()[-1] in response.json()["error_description"]


def test_a_failing_directory_is_503(
    http: TestClient, directory: MemoryDirectory, youth_key: ECKey, clock: ManualClock
) -> None:
    directory.failure = ConnectionError("FHIR store down")
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock)))
    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert "FHIR store down" not in response.text


def test_a_replayed_assertion_is_refused(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    form = token_form(youth_assertion(youth_key, clock))
    assert post(http, "/auth/token", form).status_code == 200
    assert_oauth_error(post(http, "/auth/token", form), 401, "invalid_client")


def test_an_unsigned_assertion_is_invalid_client(http: TestClient, clock: ManualClock) -> None:
    assertion = unsigned(claims_for(YOUTH, clock()), kid="youth-1")
    response = post(http, "/auth/token", token_form(assertion))
    assert_oauth_error(response, 401, "invalid_client")
    assert assertion not in response.text


def test_an_assertion_for_the_introspection_endpoint_is_refused(
    http: TestClient, youth_key: ECKey, clock: ManualClock
) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock, aud=INTROSPECTION_URL)))
    assert_oauth_error(response, 401, "invalid_client")


def test_a_contradicting_client_id_is_refused(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock), client_id=PSYCH))
    assert_oauth_error(response, 401, "invalid_client")


def test_a_matching_client_id_is_accepted(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock), client_id=YOUTH))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("missing", ["grant_type", "client_assertion_type", "client_assertion", "scope"])
def test_a_missing_field_is_invalid_request(
    http: TestClient, youth_key: ECKey, clock: ManualClock, missing: str
) -> None:
    form = token_form(youth_assertion(youth_key, clock))
    del form[missing]
    assert_oauth_error(post(http, "/auth/token", form), 400, "invalid_request")


def test_another_grant_type_is_unsupported(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    form = token_form(youth_assertion(youth_key, clock), grant_type="authorization_code")
    assert_oauth_error(post(http, "/auth/token", form), 400, "unsupported_grant_type")


def test_another_assertion_type_is_invalid_request(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    form = token_form(youth_assertion(youth_key, clock), client_assertion_type=saml)
    assert_oauth_error(post(http, "/auth/token", form), 400, "invalid_request")


def test_json_instead_of_a_form_is_invalid_request(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    response = http.post("/auth/token", json=token_form(youth_assertion(youth_key, clock)))
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [b"grant_type=client_credentials&grant_type=client_credentials", b"scope=%FF", b"a" * 70_000, b"=&=&"],
    ids=["repeated parameter", "not UTF-8", "too large", "malformed"],
)
def test_a_bad_form_is_invalid_request(http: TestClient, body: bytes) -> None:
    assert_oauth_error(http.post("/auth/token", content=body, headers=FORM), 400, "invalid_request")


def test_an_unexpected_failure_is_a_bare_server_error(config: AuthConfig, youth_key: ECKey, clock: ManualClock) -> None:
    class BrokenKeys(SigningKeys):
        def sign(self, claims: Mapping[str, object]) -> str:
            raise RuntimeError("secret internals")

    broken = replace(config, signing_keys=BrokenKeys(generate_signing_key()))
    with TestClient(create_auth_app(broken), raise_server_exceptions=False) as http:
        response = post(http, "/auth/token", token_form(youth_assertion(youth_key, clock)))
    assert_oauth_error(response, 500, "server_error")
    assert "secret internals" not in response.text


# --- introspection ----------------------------------------------------------------------------


def introspection_form(key: ECKey, clock: ManualClock, token: str) -> dict[str, str]:
    return {
        "token": token,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": youth_assertion(key, clock, aud=INTROSPECTION_URL),
    }


def get_token(http: TestClient, key: ECKey, clock: ManualClock) -> str:
    response = post(http, "/auth/token", token_form(youth_assertion(key, clock), "system/CarePlan.rs system/Goal.rs"))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_introspection_of_an_active_token(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    token = get_token(http, youth_key, clock)
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, token))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "system/CarePlan.rs system/Goal.rs"
    assert body["client_id"] == body["sub"] == YOUTH
    assert body["exp"] == int(clock()) + 300 and body["iat"] == int(clock())
    assert (body["iss"], body["aud"], body["token_type"]) == (ISSUER, FHIR_AUDIENCE, "bearer")
    assert body["organization"] == "Organization/demo-org-youth-services"
    assert body["organization_oid"] == "1.2.246.10.99990004.10.0"
    assert body["sector"] == "municipal-youth-services"
    assert body["practitioner_role"] == "PractitionerRole/demo-role-youth-worker"
    assert body["team_roles"] == ["youth-worker"]
    assert body["purpose_of_use"] == "TREAT"
    assert "btg_reason" not in body
    assert isinstance(body["jti"], str) and body["jti"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c"], ids=["garbage", "three parts"])
def test_introspection_of_garbage_is_inactive(
    http: TestClient, youth_key: ECKey, clock: ManualClock, token: str
) -> None:
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, token))
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_introspection_of_an_expired_token_is_inactive(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    token = get_token(http, youth_key, clock)
    clock.advance(300)
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, token))
    assert response.json() == {"active": False}


def test_introspection_of_a_foreign_token_is_inactive(
    http: TestClient, config: AuthConfig, youth_key: ECKey, clock: ManualClock
) -> None:
    other = replace(config, signing_keys=SigningKeys(generate_signing_key()))
    with TestClient(create_auth_app(other)) as other_http:
        foreign = get_token(other_http, youth_key, clock)
    response = post(http, "/auth/introspect", introspection_form(youth_key, clock, foreign))
    assert response.json() == {"active": False}


def test_introspection_without_authentication_is_401(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    token = get_token(http, youth_key, clock)
    assert_oauth_error(post(http, "/auth/introspect", {"token": token}), 401, "invalid_client")


def test_introspection_with_a_token_endpoint_assertion_is_401(
    http: TestClient, youth_key: ECKey, clock: ManualClock
) -> None:
    token = get_token(http, youth_key, clock)
    form = {"token": token, "client_assertion_type": JWT_BEARER, "client_assertion": youth_assertion(youth_key, clock)}
    assert_oauth_error(post(http, "/auth/introspect", form), 401, "invalid_client")


def test_introspection_with_a_replayed_assertion_is_401(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    form = introspection_form(youth_key, clock, get_token(http, youth_key, clock))
    assert post(http, "/auth/introspect", form).status_code == 200
    assert_oauth_error(post(http, "/auth/introspect", form), 401, "invalid_client")


def test_introspection_without_token_is_invalid_request(http: TestClient, youth_key: ECKey, clock: ManualClock) -> None:
    form = introspection_form(youth_key, clock, "")
    assert_oauth_error(post(http, "/auth/introspect", form), 400, "invalid_request")


# --- JWKS and discovery -----------------------------------------------------------------------


def test_the_jwks_publishes_public_keys_through_rotation(
    http: TestClient, config: AuthConfig, youth_key: ECKey, clock: ManualClock
) -> None:
    old_kid = config.signing_keys.current_kid
    old_token = get_token(http, youth_key, clock)
    config.signing_keys.rotate(generate_signing_key())
    new_kid = config.signing_keys.current_kid
    keys = http.get("/auth/jwks").json()["keys"]
    assert [key["kid"] for key in keys] == [new_kid, old_kid]
    assert all("d" not in key for key in keys)
    assert post(http, "/auth/introspect", introspection_form(youth_key, clock, old_token)).json()["active"] is True
    clock.advance(300 + 30)
    assert [key["kid"] for key in http.get("/auth/jwks").json()["keys"]] == [new_kid]


def test_smart_configuration(http: TestClient) -> None:
    response = http.get("/.well-known/smart-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["token_endpoint"] == TOKEN_URL
    assert body["introspection_endpoint"] == INTROSPECTION_URL
    assert body["jwks_uri"] == ISSUER + "/auth/jwks"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["ES384", "RS384"]
    assert body["capabilities"] == ["client-confidential-asymmetric", "permission-v2"]
    assert body["scopes_supported"] == [
        "system/*.rs",
        "system/CarePlan.cruds",
        "system/CarePlan.rs",
        "system/CareTeam.rs",
        "system/Goal.cruds",
        "system/Goal.rs",
    ]


def test_no_framework_docs_are_served(http: TestClient) -> None:
    assert http.get("/docs").status_code == 404
    assert http.get("/openapi.json").status_code == 404
