"""Access tokens: what `TokenIssuer` signs, and what `TokenVerifier` lets through (and caches)."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from auth.claims import ActingClaims
from auth.keys import SigningKeys, generate_signing_key
from auth.principal import InvalidToken, Principal, TokenVerifier
from auth.professionals import ProfessionalRole
from auth.registry import ClientRegistration, ClientRegistry
from auth.scopes import parse_scope
from auth.tokens import IssuedToken, TokenIssuer
from gateway.fhir.codes import PurposeOfUse, Sector
from tests.unit.auth.support import FHIR_AUDIENCE, ISSUER, START, YOUTH, YOUTH_ORG, YOUTH_WORKER, ManualClock, b64url

PROFESSIONAL = ProfessionalRole(YOUTH_WORKER, YOUTH_ORG, ("youth-worker", "personal-worker"), active=True)
TREAT = ActingClaims(YOUTH_WORKER, PurposeOfUse.TREAT, "")
SCOPES = (parse_scope("system/CarePlan.rs"), parse_scope("system/Goal.rs"))


class CountingKeys(SigningKeys):
    """SigningKeys that count signature-key lookups (one per signature verification)."""

    lookups = 0

    def verification_key(self, kid: str) -> ECKey | None:
        self.lookups += 1
        return super().verification_key(kid)


@pytest.fixture
def private() -> ECKey:
    return generate_signing_key()


@pytest.fixture
def keys(private: ECKey) -> CountingKeys:
    return CountingKeys(private)


@pytest.fixture
def youth(registry: ClientRegistry) -> ClientRegistration:
    client = registry.find(YOUTH)
    assert isinstance(client, ClientRegistration)
    return client


def _valid_claims() -> dict[str, object]:
    return {
        "iss": ISSUER,
        "aud": FHIR_AUDIENCE,
        "sub": YOUTH,
        "client_id": YOUTH,
        "iat": int(START),
        "exp": int(START) + 60,
        "jti": "abc",
        "scope": "system/CarePlan.rs",
        "organization": YOUTH_ORG,
        "organization_oid": "1.2.246.10.99990004.10.0",
        "sector": "municipal-youth-services",
        "practitioner_role": YOUTH_WORKER,
        "team_roles": ["youth-worker"],
        "purpose_of_use": "TREAT",
    }


def _forge(private: ECKey, claims: dict[str, object]) -> str:
    """A token with arbitrary claims, signed by the real key (as a buggy issuer might)."""
    header = {"alg": "ES256", "kid": private.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, private, algorithms=["ES256"])


def _issuer(keys: SigningKeys, clock: ManualClock, lifetime: int = 300) -> TokenIssuer:
    return TokenIssuer(keys, issuer=ISSUER, audience=FHIR_AUDIENCE, clock=clock, lifetime=lifetime)


def _verifier(
    keys: SigningKeys, clock: ManualClock, *, audience: str = FHIR_AUDIENCE, issuer: str = ISSUER, cache_size: int = 100
) -> TokenVerifier:
    return TokenVerifier(keys, issuer=issuer, audience=audience, clock=clock, cache_size=cache_size)


def _issue(
    keys: SigningKeys, clock: ManualClock, client: ClientRegistration, acting: ActingClaims = TREAT
) -> IssuedToken:
    return _issuer(keys, clock).issue(client, PROFESSIONAL, acting, SCOPES)


def test_a_token_carries_the_yhteys_claims(
    keys: CountingKeys, private: ECKey, clock: ManualClock, youth: ClientRegistration
) -> None:
    issued = _issue(keys, clock, youth)
    token = jwt.decode(issued.access_token, private, algorithms=["ES256"])
    assert token.header == {"alg": "ES256", "kid": keys.current_kid, "typ": "at+jwt"}
    claims = token.claims
    assert {k: v for k, v in claims.items() if k != "jti"} == {
        "iss": ISSUER,
        "aud": FHIR_AUDIENCE,
        "sub": YOUTH,
        "client_id": YOUTH,
        "iat": int(START),
        "exp": int(START) + 300,
        "scope": "system/CarePlan.rs system/Goal.rs",
        "organization": YOUTH_ORG,
        "organization_oid": "1.2.246.10.99990004.10.0",
        "sector": "municipal-youth-services",
        "practitioner_role": YOUTH_WORKER,
        "team_roles": ["youth-worker", "personal-worker"],
        "purpose_of_use": "TREAT",
    }
    assert len(str(claims["jti"])) >= 32
    assert issued.expires_in == 300 and issued.token_type == "bearer"


def test_every_token_has_a_fresh_jti(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    assert _issue(keys, clock, youth).jti != _issue(keys, clock, youth).jti


def test_a_token_becomes_a_principal(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    issued = _issue(keys, clock, youth)
    principal = _verifier(keys, clock).authenticate(issued.access_token)
    assert principal == Principal(
        client_id=YOUTH,
        organization=YOUTH_ORG,
        organization_oid="1.2.246.10.99990004.10.0",
        sector=Sector.MUNICIPAL_YOUTH_SERVICES,
        practitioner_role=YOUTH_WORKER,
        team_roles=("youth-worker", "personal-worker"),
        scopes=SCOPES,
        purpose_of_use=PurposeOfUse.TREAT,
        btg_reason="",
        jti=issued.jti,
        expires_at=int(START) + 300,
        issued_at=int(START),
    )


def test_a_break_the_glass_token_carries_its_reason(
    keys: CountingKeys, clock: ManualClock, youth: ClientRegistration
) -> None:
    btg = ActingClaims(YOUTH_WORKER, PurposeOfUse.BTG, "Client in acute crisis at the youth centre")
    principal = _verifier(keys, clock).authenticate(_issue(keys, clock, youth, btg).access_token)
    assert principal.purpose_of_use is PurposeOfUse.BTG
    assert principal.btg_reason == "Client in acute crisis at the youth centre"


def test_a_verified_token_is_checked_once(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    token = _issue(keys, clock, youth).access_token
    verifier = _verifier(keys, clock)
    first = verifier.authenticate(token)
    assert verifier.authenticate(token) is first
    assert keys.lookups == 1


def test_the_cache_is_bounded(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    verifier = _verifier(keys, clock, cache_size=2)
    tokens = [_issue(keys, clock, youth).access_token for _ in range(3)]
    for token in tokens:
        verifier.authenticate(token)
    assert keys.lookups == 3
    verifier.authenticate(tokens[2])
    assert keys.lookups == 3
    verifier.authenticate(tokens[0])
    assert keys.lookups == 4


def test_an_expired_token_is_refused_even_from_the_cache(
    keys: CountingKeys, clock: ManualClock, youth: ClientRegistration
) -> None:
    token = _issue(keys, clock, youth).access_token
    verifier = _verifier(keys, clock)
    verifier.authenticate(token)
    clock.advance(300 + 9)
    verifier.authenticate(token)
    clock.advance(1)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.authenticate(token)
    with pytest.raises(InvalidToken, match="expired"):
        _verifier(keys, clock).authenticate(token)


def test_a_rotated_key_verifies_until_pruned(clock: ManualClock, youth: ClientRegistration) -> None:
    keys = SigningKeys(generate_signing_key())
    old_token = _issue(keys, clock, youth).access_token
    keys.rotate(generate_signing_key())
    new_token = _issue(keys, clock, youth).access_token
    assert _verifier(keys, clock).authenticate(old_token).client_id == YOUTH
    assert _verifier(keys, clock).authenticate(new_token).client_id == YOUTH
    assert keys.prune(clock()) == ()
    clock.advance(300 + 30)
    assert len(keys.prune(clock())) == 1
    with pytest.raises(InvalidToken, match="kid"):
        _verifier(keys, clock).authenticate(old_token)


def _tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _tamper_payload(token: str) -> str:
    header, _, signature = token.split(".")
    forged = b64url(json.dumps({**_valid_claims(), "scope": "system/*.cruds"}).encode())
    return f"{header}.{forged}.{signature}"


def test_a_tampered_signature_is_refused(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    token = _issue(keys, clock, youth).access_token
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(keys, clock).authenticate(_tamper_signature(token))


def test_a_tampered_payload_is_refused(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    token = _issue(keys, clock, youth).access_token
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(keys, clock).authenticate(_tamper_payload(token))


def test_another_audience_is_refused(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    token = _issue(keys, clock, youth).access_token
    with pytest.raises(InvalidToken, match="audience"):
        _verifier(keys, clock, audience="https://other-gateway.test/fhir").authenticate(token)


def test_another_issuer_is_refused(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    token = _issue(keys, clock, youth).access_token
    with pytest.raises(InvalidToken, match="issued by"):
        _verifier(keys, clock, issuer="https://other-auth.test").authenticate(token)


def test_a_token_of_an_unknown_key_is_refused(
    keys: CountingKeys, clock: ManualClock, youth: ClientRegistration
) -> None:
    foreign = SigningKeys(generate_signing_key())
    token = _issue(foreign, clock, youth).access_token
    with pytest.raises(InvalidToken, match="kid"):
        _verifier(keys, clock).authenticate(token)


def test_a_token_from_the_future_is_refused(keys: CountingKeys, clock: ManualClock, youth: ClientRegistration) -> None:
    future = ManualClock(START + 60)
    token = _issue(keys, future, youth).access_token
    with pytest.raises(InvalidToken, match="future"):
        _verifier(keys, clock).authenticate(token)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "at+jwt"},
        {"alg": "HS256", "typ": "at+jwt"},
        {"alg": "ES256", "typ": "JWT"},
        {"alg": "ES384", "typ": "at+jwt"},
    ],
    ids=["alg none", "HS256", "typ JWT (e.g. a client assertion)", "ES384"],
)
def test_only_es256_at_jwt_headers_pass(keys: CountingKeys, clock: ManualClock, header: dict[str, object]) -> None:
    body = b64url(json.dumps({"iss": ISSUER, "aud": FHIR_AUDIENCE, "exp": int(START) + 60}).encode())
    head = b64url(json.dumps({**header, "kid": keys.current_kid}).encode())
    with pytest.raises(InvalidToken, match="ES256 at\\+jwt"):
        _verifier(keys, clock).authenticate(f"{head}.{body}.c2ln")


@pytest.mark.parametrize(
    "drop",
    [
        "iss",
        "aud",
        "sub",
        "client_id",
        "iat",
        "exp",
        "jti",
        "scope",
        "organization",
        "organization_oid",
        "sector",
        "practitioner_role",
        "team_roles",
        "purpose_of_use",
    ],
)
def test_a_token_missing_a_claim_is_refused(keys: CountingKeys, private: ECKey, clock: ManualClock, drop: str) -> None:
    claims = _valid_claims()
    assert _verifier(keys, clock).authenticate(_forge(private, claims)).client_id == YOUTH
    del claims[drop]
    with pytest.raises(InvalidToken):
        _verifier(keys, clock).authenticate(_forge(private, claims))


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "system/CarePlan.sr"},
        {"scope": ""},
        {"sector": "police"},
        {"purpose_of_use": "HMARKT"},
        {"purpose_of_use": "BTG"},
        {"btg_reason": "Client in acute crisis at the youth centre"},
        {"sub": "someone-else"},
        {"team_roles": "youth-worker"},
        {"team_roles": [1]},
        {"practitioner_role": "Practitioner/x"},
        {"exp": "later"},
        {"exp": float(START) + 60.5},
        {"aud": ["https://other.test"]},
    ],
    ids=[
        "bad scope",
        "empty scope",
        "unknown sector",
        "unknown purpose",
        "BTG without reason",
        "reason without BTG",
        "sub not client_id",
        "team_roles not a list",
        "team_roles not codes",
        "not a PractitionerRole",
        "exp not a number",
        "exp not an integer",
        "aud list without us",
    ],
)
def test_a_token_with_a_malformed_claim_is_refused(
    keys: CountingKeys, private: ECKey, clock: ManualClock, change: dict[str, object]
) -> None:
    with pytest.raises(InvalidToken):
        _verifier(keys, clock).authenticate(_forge(private, {**_valid_claims(), **change}))


def test_an_aud_list_containing_us_passes(keys: CountingKeys, private: ECKey, clock: ManualClock) -> None:
    token = _forge(private, {**_valid_claims(), "aud": ["https://other.test", FHIR_AUDIENCE]})
    assert _verifier(keys, clock).authenticate(token).client_id == YOUTH


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "x" * 20_000], ids=["empty", "word", "garbage parts", "overlong"]
)
def test_garbage_is_refused(keys: CountingKeys, clock: ManualClock, token: str) -> None:
    with pytest.raises(InvalidToken):
        _verifier(keys, clock).authenticate(token)
