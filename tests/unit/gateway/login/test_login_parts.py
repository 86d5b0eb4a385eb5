"""The login's pure parts: sessions and their timeouts, pending logins, the claims mapping,
the Java and realm set-up of Keycloak, and the ID token check against a key set of our own."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from auth.principal import CitizenPrincipal
from gateway.errors import Unexpected
from gateway.login.keycloak import DEMO_PEOPLE, REALM_TEMPLATE, KeycloakError, demo_realm, find_java
from gateway.login.oidc import LoginFailed, LoginRequest, OidcConfig, OidcProvider
from gateway.login.people import ActingFor, Citizen, ClaimsMapping, Professional, person_of
from gateway.login.routes import _local_path
from gateway.login.sessions import PendingLogins, Sessions, csrf_matches
from gateway.served import Attempt

ISSUER = "https://idp.example/realms/yhteys"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def citizen() -> Citizen:
    return Citizen("sub-1", "Aino Kallio", "140307A946S")


def test_a_session_ends_when_idle_and_at_its_lifetime() -> None:
    clock = Clock()
    sessions = Sessions(clock, idle=60, lifetime=300)
    session = sessions.open(citizen(), None, "id-token", "serial")
    for _ in range(5):  # activity keeps it alive until its lifetime
        clock.now += 59
        assert sessions.find(session.key) is not None
    clock.now += 59  # 354 s after it started
    assert sessions.find(session.key) is None
    idle = sessions.open(citizen(), None, "id-token", "serial")
    clock.now += 61
    assert sessions.find(idle.key) is None
    assert sessions.find(idle.key) is None  # forgotten, not revived


def test_a_closed_session_is_gone_and_keys_differ() -> None:
    sessions = Sessions(Clock())
    first, second = (sessions.open(citizen(), None, "t", "s") for _ in range(2))
    assert len({first.key, second.key, first.csrf, second.csrf}) == 4
    assert sessions.close(first.key) == first
    assert sessions.find(first.key) is None and sessions.find(second.key) is not None


def test_the_csrf_token_must_be_the_sessions_own() -> None:
    sessions = Sessions(Clock())
    session, other = sessions.open(citizen(), None, "t", "s"), sessions.open(citizen(), None, "t", "s")
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, other.csrf)
    assert not csrf_matches(session, "")
    assert not csrf_matches(session, "ä" * 43)


def test_a_pending_login_is_handed_out_once_and_expires() -> None:
    clock = Clock()
    pending = PendingLogins(clock, ttl=600)
    started = pending.start("/me", "fi")
    assert pending.take(started.request.state) == started
    assert pending.take(started.request.state) is None  # replayed
    late = pending.start("/me", "fi")
    clock.now += 601
    assert pending.take(late.request.state) is None
    assert pending.take("forged") is None


def test_the_pkce_challenge_is_s256_of_the_verifier() -> None:
    request = LoginRequest("state", "nonce", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert request.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636, appendix B
    assert len({LoginRequest.new().state for _ in range(3)}) == 3


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "s", "name": "Sari Lahtinen", "practitioner_role": "PractitionerRole/r1", "roles": ["auditor"]},
         Professional("s", "Sari Lahtinen", "PractitionerRole/r1", ("auditor",))),
        ({"sub": "s", "given_name": "Aino", "family_name": "Kallio", "hetu": "140307A946S"},
         Citizen("s", "Aino Kallio", "140307A946S")),
    ],
)  # fmt: skip
def test_claims_name_a_professional_or_a_citizen(claims: dict[str, Any], expected: object) -> None:
    assert person_of(claims, ClaimsMapping()) == expected


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"sub": "s"}, "neither"),
        ({"sub": "s", "hetu": "140307A946S", "practitioner_role": "PractitionerRole/r1"}, "both"),
        ({"sub": "s", "hetu": "140307A946T"}, "not valid"),
        ({"sub": "s", "practitioner_role": "Practitioner/p1"}, "not a PractitionerRole"),
        ({"sub": "s", "practitioner_role": ["PractitionerRole/r1"]}, "not a PractitionerRole"),
    ],
)
def test_unclear_claims_are_nobody(claims: dict[str, Any], why: str) -> None:
    with pytest.raises(LoginFailed, match=why):
        person_of(claims, ClaimsMapping())


def test_the_mapping_names_the_claims() -> None:
    mapping = ClaimsMapping(hetu="urn:fi:hetu")
    assert person_of({"sub": "s", "urn:fi:hetu": "140307A946S"}, mapping) == Citizen("s", "", "140307A946S")
    with pytest.raises(LoginFailed):
        person_of({"sub": "s", "hetu": "140307A946S"}, mapping)


@pytest.mark.parametrize(
    ("asked", "kept"),
    [("/audit/console?lang=sv", "/audit/console?lang=sv"), ("", "/me"), ("//evil.example/x", "/me"),
     ("https://evil.example/", "/me"), ("/\\evil.example", "/me"), ("/a\nb", "/me")],
)  # fmt: skip
def test_next_is_only_a_path_of_the_gateway(asked: str, kept: str) -> None:
    assert _local_path(asked) == kept


def jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


def test_find_java_takes_the_newest_java_21_or_newer(tmp_path: Path) -> None:
    jdk(tmp_path, "java-17", "17.0.15")
    newest = jdk(tmp_path, "temurin-25", "25.0.3")
    jdk(tmp_path, "java-21", "21.0.1")
    assert find_java({"PATH": ""}, tmp_path) == newest
    assert find_java({"PATH": "", "JAVA_HOME": str(tmp_path / "java-21")}, tmp_path) == tmp_path / "java-21"
    old_only = tmp_path / "old"
    jdk(old_only, "java-17", "17.0.15")
    assert find_java({"PATH": "", "JAVA_HOME": str(old_only / "java-17")}, old_only) is None


def test_the_demo_realm_is_filled_in_and_needs_every_value(tmp_path: Path) -> None:
    passwords = {what: f"pw-{what}" for what in DEMO_PEOPLE}
    realm = demo_realm("http://127.0.0.1:9000", "gw", 'se"cret', passwords)
    client = realm["clients"][0]
    assert client["redirectUris"] == ["http://127.0.0.1:9000/login/callback"]
    assert client["secret"] == 'se"cret' and client["attributes"]["pkce.code.challenge.method"] == "S256"
    users = {u["username"]: u for u in realm["users"]}
    assert set(users) == set(DEMO_PEOPLE.values())
    assert users["aino.kallio"]["credentials"][0]["value"] == "pw-client"
    assert "${" not in json.dumps(realm).replace("${username}", "").replace("${email}", "").replace(
        "${firstName}", ""
    ).replace("${lastName}", "")
    with pytest.raises(KeycloakError, match="GUARDIAN_PASSWORD"):
        demo_realm("http://x", "gw", "s", {"auditor": "a", "client": "c"}, REALM_TEMPLATE)


class FakeProvider(httpx.AsyncBaseTransport):
    """An identity provider's discovery, keys and token endpoint, answering with `id_token`."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key
        self.id_token = ""
        self.forms: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth",
                                             "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/certs"})  # fmt: skip
        if request.url.path.endswith("/certs"):
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        self.forms.append(await request.aread())
        return httpx.Response(200, json={"access_token": "a", "token_type": "Bearer", "id_token": self.id_token})


def id_token(key: RSAKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s", "aud": "gw", "exp": now + 300, "iat": now, "nonce": "n1", **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def redeem(provider: FakeProvider, token: str) -> dict[str, Any]:
    provider.id_token = token

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=provider) as client:
            rp = OidcProvider(OidcConfig(ISSUER, "gw", "secret", "https://gw/login/callback", "https://gw/out"), client)
            claims, _ = await rp.redeem("code", LoginRequest("st", "n1", "verifier"))
            return claims

    return asyncio.run(go())


def test_the_id_token_is_checked() -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    provider = FakeProvider(key)
    assert redeem(provider, id_token(key))["sub"] == "s"
    assert b"code_verifier=verifier" in provider.forms[-1]
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    cases = [
        ("signature", id_token(stranger)),
        ("publish", id_token(RSAKey.generate_key(2048, parameters={"kid": "k2"}))),
        ("not valid", id_token(key, nonce="other")),
        ("not valid", id_token(key, nonce=None)),
        ("not valid", id_token(key, iss="https://other.example")),
        ("not valid", id_token(key, exp=int(time.time()) - 120)),
        ("not valid", id_token(key, iat=int(time.time()) + 600)),
        ("not issued to", id_token(key, aud="another-client")),
        ("other audiences", id_token(key, aud=["gw", "another"], azp="another")),
    ]
    for why, token in cases:
        with pytest.raises(LoginFailed, match=why):
            redeem(provider, token)


def test_a_citizen_acts_only_for_the_choices_of_her_login() -> None:
    own = CitizenPrincipal("gw", "Patient/p1", "Patient/p1", "client", "session-s", 0, 1)
    ward = CitizenPrincipal("gw", "RelatedPerson/r1", "Patient/child", "guardian", "session-s", 0, 1)
    sessions = Sessions(Clock())
    session = sessions.open(citizen(), own, "t", "s", (ActingFor(own, "Aino"), ActingFor(ward, "Pikku")))
    switched = sessions.act_for(session.key, 1)
    assert switched is not None and switched.principal == ward
    assert sessions.find(session.key) == switched
    assert sessions.act_for(session.key, 2) is None and sessions.act_for(session.key, -1) is None
    assert sessions.act_for("another", 0) is None
    plain = sessions.open(citizen(), own, "t", "s")
    assert sessions.act_for(plain.key, 0) is None  # no choices: nobody else to act for


def test_only_a_citizens_page_has_a_citizen_caller() -> None:
    attempt = Attempt()
    with pytest.raises(Unexpected):
        attempt.citizen_caller()
    attempt.citizen = CitizenPrincipal("gw", "Patient/p1", "Patient/p1", "client", "session-s", 0, 1)
    assert attempt.citizen_caller().patient == "Patient/p1"
