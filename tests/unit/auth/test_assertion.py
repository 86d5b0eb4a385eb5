"""Client assertion verification (RFC 7523 private_key_jwt): the good ones pass, every attack fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, RSAKey

from auth.assertion import AssertionVerifier, VerifiedAssertion
from auth.errors import (
    AssertionExpired,
    AssertionLifetimeTooLong,
    AssertionNotYetValid,
    AssertionUnverifiable,
    BadSignature,
    ClaimMismatch,
    DisallowedAlgorithm,
    MalformedAssertion,
    MissingClaim,
    OAuthError,
    ReplayedAssertion,
    TemporarilyUnavailable,
    UnknownClient,
    UnknownSigningKey,
)
from auth.jti import InMemoryJtiCache
from auth.registry import ClientRegistry, parse_registry
from tests.unit.auth.support import (
    INTROSPECTION_URL,
    PSYCH,
    START,
    TOKEN_URL,
    YOUTH,
    ManualClock,
    b64url,
    claims_for,
    public_jwk,
    registry_data,
    sign,
    sign_hmac,
    unsigned,
)


@dataclass(frozen=True)
class Keys:
    youth: ECKey
    psych: RSAKey
    stranger: ECKey


@pytest.fixture
def keys(youth_key: ECKey, psych_key: RSAKey, stranger_key: ECKey) -> Keys:
    return Keys(youth_key, psych_key, stranger_key)


@pytest.fixture
def verifier(registry: ClientRegistry, clock: ManualClock) -> AssertionVerifier:
    return AssertionVerifier(registry, InMemoryJtiCache(clock), clock)


def verify(verifier: AssertionVerifier, assertion: str, audience: str = TOKEN_URL) -> VerifiedAssertion:
    return asyncio.run(verifier.verify(assertion, audience))


def test_an_es384_assertion_is_accepted(verifier: AssertionVerifier, keys: Keys) -> None:
    claims = claims_for(YOUTH, START)
    verified = verify(verifier, sign(claims, keys.youth))
    assert verified.client.client_id == YOUTH
    assert verified.jti == claims["jti"]
    assert verified.expires_at == START + 120
    assert verified.claims["sub"] == YOUTH


def test_an_rs384_assertion_is_accepted(verifier: AssertionVerifier, keys: Keys) -> None:
    verified = verify(verifier, sign(claims_for(PSYCH, START), keys.psych, alg="RS384"))
    assert verified.client.client_id == PSYCH


def test_aud_may_be_a_list_containing_the_endpoint(verifier: AssertionVerifier, keys: Keys) -> None:
    claims = claims_for(YOUTH, START, aud=["https://elsewhere.test", TOKEN_URL])
    assert verify(verifier, sign(claims, keys.youth)).client.client_id == YOUTH


def test_without_kid_the_single_key_of_the_right_type_is_used(verifier: AssertionVerifier, keys: Keys) -> None:
    assert verify(verifier, sign(claims_for(YOUTH, START), keys.youth, kid=None)).client.client_id == YOUTH


def test_without_kid_several_candidate_keys_are_refused(
    youth_key: ECKey, psych_key: RSAKey, stranger_key: ECKey, clock: ManualClock
) -> None:
    data = registry_data(youth_key, psych_key)
    clients = data["clients"]
    assert isinstance(clients, list)
    second = public_jwk(ECKey.generate_key("P-384", parameters={"kid": "youth-2"}, private=True))
    clients[0]["jwks"] = {"keys": [public_jwk(youth_key), second]}
    verifier = AssertionVerifier(parse_registry(data, base_dir=Path(".")), InMemoryJtiCache(clock), clock)
    with pytest.raises(UnknownSigningKey):
        verify(verifier, sign(claims_for(YOUTH, START), youth_key, kid=None))
    assert verify(verifier, sign(claims_for(YOUTH, START), youth_key)).client.client_id == YOUTH


def test_clock_skew_within_leeway_is_tolerated(verifier: AssertionVerifier, keys: Keys, clock: ManualClock) -> None:
    claims = claims_for(YOUTH, START, lifetime=60)
    clock.advance(60 + 29)
    assert verify(verifier, sign(claims, keys.youth)).client.client_id == YOUTH


Build = Callable[[Keys], str]


def _claims(client: str = YOUTH, **changes: object) -> dict[str, object]:
    claims = claims_for(client, START)
    for name, value in changes.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    return claims


@dataclass(frozen=True)
class AttackCase:
    name: str
    build: Build
    want: type[OAuthError]


ATTACKS = [
    AttackCase("alg none", lambda k: unsigned(_claims(), kid="youth-1"), DisallowedAlgorithm),
    AttackCase("alg none without kid", lambda k: unsigned(_claims()), DisallowedAlgorithm),
    AttackCase(
        "HS256 with the public key as the secret",
        lambda k: sign_hmac(_claims(), k.youth.as_pem(private=False), kid="youth-1"),
        DisallowedAlgorithm,
    ),
    AttackCase(
        "HS384 with the public JWK as the secret",
        lambda k: sign_hmac(_claims(), str(public_jwk(k.youth)).encode(), alg="HS384"),
        DisallowedAlgorithm,
    ),
    AttackCase(
        "RS256 with the registered RSA key", lambda k: sign(_claims(PSYCH), k.psych, alg="RS256"), DisallowedAlgorithm
    ),
    AttackCase(
        "PS384 with the registered RSA key", lambda k: sign(_claims(PSYCH), k.psych, alg="PS384"), DisallowedAlgorithm
    ),
    AttackCase(
        "ES256 with a P-256 key",
        lambda k: sign(
            _claims(), ECKey.generate_key("P-256", parameters={"kid": "youth-1"}, private=True), alg="ES256"
        ),
        DisallowedAlgorithm,
    ),
    AttackCase("a key nobody registered, with the client's kid", lambda k: sign(_claims(), k.stranger), BadSignature),
    AttackCase("a key nobody registered, without kid", lambda k: sign(_claims(), k.stranger, kid=None), BadSignature),
    AttackCase("a kid the client does not have", lambda k: sign(_claims(), k.youth, kid="youth-9"), UnknownSigningKey),
    AttackCase("the kid of another client", lambda k: sign(_claims(), k.youth, kid="psych-rsa-1"), UnknownSigningKey),
    AttackCase(
        "another client's key and kid, claiming to be this client",
        lambda k: sign(_claims(), k.psych, alg="RS384"),
        UnknownSigningKey,
    ),
    AttackCase(
        "RS384 for a client with only an EC key",
        lambda k: sign(_claims(), k.psych, alg="RS384", kid=None),
        UnknownSigningKey,
    ),
    AttackCase("kid not a string", lambda k: _with_header({"alg": "ES384", "kid": 1}, _claims()), MalformedAssertion),
    AttackCase(
        "expired", lambda k: sign(_claims(iat=int(START) - 400, exp=int(START) - 31), k.youth), AssertionExpired
    ),
    AttackCase(
        "exp more than 5 min ahead",
        lambda k: sign(_claims(iat=None, exp=int(START) + 600), k.youth),
        AssertionLifetimeTooLong,
    ),
    AttackCase(
        "exp beyond 5 min plus leeway",
        lambda k: sign(_claims(iat=None, exp=int(START) + 331), k.youth),
        AssertionLifetimeTooLong,
    ),
    AttackCase(
        "exp - iat over 5 min",
        lambda k: sign(_claims(iat=int(START) - 100, exp=int(START) + 201), k.youth),
        AssertionLifetimeTooLong,
    ),
    AttackCase(
        "iat in the future",
        lambda k: sign(_claims(iat=int(START) + 60, exp=int(START) + 120), k.youth),
        AssertionNotYetValid,
    ),
    AttackCase("nbf in the future", lambda k: sign(_claims(nbf=int(START) + 60), k.youth), AssertionNotYetValid),
    AttackCase("no exp", lambda k: sign(_claims(exp=None), k.youth), MissingClaim),
    AttackCase("exp not a number", lambda k: sign(_claims(exp="soon"), k.youth), MissingClaim),
    AttackCase("exp a boolean", lambda k: sign(_claims(exp=True), k.youth), MissingClaim),
    AttackCase("no jti", lambda k: sign(_claims(jti=None), k.youth), MissingClaim),
    AttackCase("empty jti", lambda k: sign(_claims(jti=""), k.youth), MissingClaim),
    AttackCase("jti not a string", lambda k: sign(_claims(jti=7), k.youth), MissingClaim),
    AttackCase("wrong aud", lambda k: sign(_claims(aud="https://other.test/token"), k.youth), ClaimMismatch),
    AttackCase(
        "aud of the introspection endpoint", lambda k: sign(_claims(aud=INTROSPECTION_URL), k.youth), ClaimMismatch
    ),
    AttackCase(
        "aud list without the endpoint", lambda k: sign(_claims(aud=["https://other.test"]), k.youth), ClaimMismatch
    ),
    AttackCase("no aud", lambda k: sign(_claims(aud=None), k.youth), MissingClaim),
    AttackCase("iss differs from sub", lambda k: sign(_claims(sub=PSYCH), k.youth), ClaimMismatch),
    AttackCase("no sub", lambda k: sign(_claims(sub=None), k.youth), ClaimMismatch),
    AttackCase("unknown client", lambda k: sign(_claims("intruder"), k.stranger), UnknownClient),
    AttackCase("no iss", lambda k: sign(_claims(iss=None), k.youth), MissingClaim),
    AttackCase("not a JWS", lambda k: "not-a-token", MalformedAssertion),
    AttackCase("two parts", lambda k: "a.b", MalformedAssertion),
    AttackCase("header not base64 JSON", lambda k: "!!!.e30.c2ln", MalformedAssertion),
    AttackCase("header a JSON list", lambda k: b64url(b"[1]") + ".e30.c2ln", MalformedAssertion),
    AttackCase("overlong", lambda k: "a" * 20_000, MalformedAssertion),
    AttackCase(
        "payload swapped after signing",
        lambda k: _swap_payload(sign(_claims(), k.youth), _claims(jti="other")),
        BadSignature,
    ),
]


def _with_header(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


def _swap_payload(token: str, claims: dict[str, object]) -> str:
    header, _, signature = token.split(".")
    other = sign(claims, ECKey.generate_key("P-384", private=True)).split(".")[1]
    return f"{header}.{other}.{signature}"


@pytest.mark.parametrize("case", ATTACKS, ids=lambda case: case.name)
def test_attacks_are_refused(case: AttackCase, verifier: AssertionVerifier, keys: Keys) -> None:
    with pytest.raises(case.want) as caught:
        verify(verifier, case.build(keys))
    assert caught.value.error == "invalid_client"
    assert caught.value.status_code == 401


def test_a_replayed_assertion_is_refused(verifier: AssertionVerifier, keys: Keys) -> None:
    assertion = sign(claims_for(YOUTH, START), keys.youth)
    verify(verifier, assertion)
    with pytest.raises(ReplayedAssertion):
        verify(verifier, assertion)


def test_a_new_assertion_reusing_a_jti_is_refused(verifier: AssertionVerifier, keys: Keys, clock: ManualClock) -> None:
    first = claims_for(YOUTH, START)
    verify(verifier, sign(first, keys.youth))
    clock.advance(5)
    second = claims_for(YOUTH, clock(), jti=first["jti"])
    with pytest.raises(ReplayedAssertion):
        verify(verifier, sign(second, keys.youth))


def test_a_replay_after_the_jti_is_forgotten_is_refused_as_expired(
    verifier: AssertionVerifier, keys: Keys, clock: ManualClock
) -> None:
    """The jti memory keeps a jti until exp + leeway; from then on the exp check refuses it."""
    assertion = sign(claims_for(YOUTH, START, lifetime=60), keys.youth)
    verify(verifier, assertion)
    clock.advance(60 + 30)
    with pytest.raises(AssertionExpired):
        verify(verifier, assertion)


def test_a_refused_assertion_does_not_spend_its_jti(verifier: AssertionVerifier, keys: Keys) -> None:
    claims = claims_for(YOUTH, START)
    with pytest.raises(ClaimMismatch):
        verify(verifier, sign(claims, keys.youth), audience="https://other.test/token")
    assert verify(verifier, sign(claims, keys.youth)).jti == claims["jti"]


def test_the_same_jti_from_two_clients_is_not_a_replay(verifier: AssertionVerifier, keys: Keys) -> None:
    verify(verifier, sign(claims_for(YOUTH, START, jti="shared"), keys.youth))
    verify(verifier, sign(claims_for(PSYCH, START, jti="shared"), keys.psych, alg="RS384"))


def test_an_unexpected_failure_refuses(registry: ClientRegistry, keys: Keys) -> None:
    def broken_clock() -> float:
        raise RuntimeError("clock failure")

    verifier = AssertionVerifier(registry, InMemoryJtiCache(lambda: START), broken_clock)
    with pytest.raises(AssertionUnverifiable):
        verify(verifier, sign(claims_for(YOUTH, START), keys.youth))


def test_a_failing_jti_cache_refuses_with_503(registry: ClientRegistry, keys: Keys, clock: ManualClock) -> None:
    class BrokenCache:
        async def first_use(self, client_id: str, jti: str, keep_until: float) -> bool:
            raise ConnectionError("cache down")

    verifier = AssertionVerifier(registry, BrokenCache(), clock)
    with pytest.raises(TemporarilyUnavailable):
        verify(verifier, sign(claims_for(YOUTH, START), keys.youth))


def test_leeway_is_capped_at_30_seconds(registry: ClientRegistry, clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        AssertionVerifier(registry, InMemoryJtiCache(clock), clock, leeway=31)
