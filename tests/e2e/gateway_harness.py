"""The gateway in-process on the session's HAPI, and tokens for the demo team, for e2e tests.

`Gateway` runs the gateway as `build_gateway` assembles it, behind httpx's ASGI transport,
forwarding to the session's HAPI; tokens are minted with the gateway's own issuer (the token endpoint is covered by
tests/unit/auth and tests/e2e/test_gateway_served.py). The `call` fixture (tests/e2e/conftest.py)
gives each test a Gateway with its own audit trail.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.jwk import KeySet

from auth.claims import ActingClaims
from auth.keys import SigningKeys, generate_signing_key
from auth.professionals import ProfessionalRole
from auth.registry import ClientRegistration
from auth.scopes import parse_scope
from auth.tokens import TokenIssuer
from gateway.app.assembly import build_gateway
from gateway.audit.balp import search_keys
from gateway.audit.trail import AuditTrail
from gateway.demo import demo_bundle
from gateway.demo.clients import DEMO_CLIENTS, ensure_demo_clients
from gateway.demo.pki import ensure_demo_pki
from gateway.fhir.codes import PurposeOfUse, Sector
from gateway.fhir.hetu import hetu_check_character, parse_hetu
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import HETU_SYSTEM
from gateway.settings import Settings

ISSUER = "http://gateway.test"
PUBLIC_BASE = "http://gateway.test/fhir"
SIGNING_KEY = generate_signing_key()
KEYS = SigningKeys(SIGNING_KEY)
READ_SCOPES = ("system/CarePlan.rs", "system/Goal.rs", "system/CareTeam.rs", "system/Patient.rs", "system/Condition.rs")
WRITE_SCOPES = (
    "system/CarePlan.cruds",
    "system/Goal.cruds",
    "system/CareTeam.cruds",
    "system/Patient.rs",
    "system/Condition.rs",
    "system/PractitionerRole.rs",  # a write may name only what its caller may read
    "system/Organization.rs",
)


@dataclass(frozen=True)
class Member:
    client_id: str
    organization: str
    sector: Sector
    role: str
    team_role: str


YOUTH_WORKER = Member(
    "youth-system",
    "Organization/demo-org-youth-services",
    Sector.MUNICIPAL_YOUTH_SERVICES,
    "PractitionerRole/demo-role-youth-worker",
    "youth-worker",
)
PSYCH_NURSE = Member(
    "psychiatry-ehr",
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psych-nurse",
    "psychiatric-nurse",
)
CURATOR = Member(
    "school-welfare-system",
    "Organization/demo-org-school-welfare",
    Sector.SCHOOL_WELFARE,
    "PractitionerRole/demo-role-curator",
    "school-curator",
)
SOCIAL_WORKER = Member(
    "social-welfare-system",
    "Organization/demo-org-social-welfare",
    Sector.CHILD_PROTECTION,
    "PractitionerRole/demo-role-social-worker",
    "aftercare-social-worker",
)
PSYCHIATRIST = Member(
    "psychiatry-ehr",
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psychiatrist",
    "consulting-psychiatrist",
)


_DEMO_OIDS = {client.organization: client.organization_oid for client in DEMO_CLIENTS}


def token(member: Member, scopes: tuple[str, ...] = READ_SCOPES) -> str:
    """An access token of `member`'s system acting as `member`, purpose TREAT."""
    issuer = TokenIssuer(KEYS, issuer=ISSUER, audience=PUBLIC_BASE, clock=time.time)
    client = ClientRegistration(
        member.client_id,
        member.organization,
        _DEMO_OIDS.get(member.organization, "1.2.246.10.1"),
        member.sector,
        tuple(parse_scope(s) for s in scopes),
        KeySet([]),
    )
    professional = ProfessionalRole(member.role, member.organization, (member.team_role,), True)
    acting = ActingClaims(member.role, PurposeOfUse.TREAT, "")
    return issuer.issue(client, professional, acting, tuple(parse_scope(s) for s in scopes)).access_token


class Gateway:
    """The gateway in-process on the session's HAPI, built by `build_gateway` as when it is
    served, with the gateway's origin `ISSUER` and the signing key `KEYS`; its own event loop.

    `audit` is the trail the FHIR path records into: the gateway's own (in `settings`'s data
    directory), or the one given. `close()` releases everything (the `call` fixture does it).
    """

    def __init__(self, settings: Settings, audit: AuditTrail | None = None) -> None:
        settings = settings.with_changes(gateway_public_url=ISSUER)
        ensure_demo_clients(settings.gateway_dir)
        ensure_demo_pki(settings)
        key_file = settings.gateway_dir / "signing-key.pem"
        key_file.write_bytes(SIGNING_KEY.as_pem(private=True))
        key_file.chmod(0o600)
        self._gateway = build_gateway(settings, audit=audit)
        self.audit = audit or self._gateway.trail
        self._loop = asyncio.new_event_loop()

    def rest_events(self) -> list[dict[str, Any]]:
        """The BALP REST events in the trail, oldest first, each with its `search_keys` as `_keys`."""
        events = [json.loads(stored.event) for stored in self.audit.store.events()]
        return [{**event, "_keys": search_keys(event)} for event in events if event["type"]["code"] == "rest"]

    def __call__(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: bytes = b"",
        content_type: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request to the gateway (path starting /fhir), with `token` as the bearer."""
        return self.exchange([(method, path, token, body, content_type, headers or {})])[0]

    def exchange(
        self, requests: list[tuple[str, str, str | None, bytes, str, Mapping[str, str]]]
    ) -> list[httpx.Response]:
        """Send `requests` concurrently to the gateway; the answers in order."""
        return self._loop.run_until_complete(self._exchange(requests))

    def close(self) -> None:
        """Close the gateway (its trail, its clients) and the event loop."""
        self._loop.run_until_complete(self._gateway.close())
        self._loop.close()

    async def _exchange(
        self, requests: list[tuple[str, str, str | None, bytes, str, Mapping[str, str]]]
    ) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=self._gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER, timeout=60.0) as gateway:

            async def send(
                method: str, path: str, token: str | None, body: bytes, content_type: str, extra: Mapping[str, str]
            ) -> httpx.Response:
                headers = {"Accept": FHIR_JSON, **extra}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                if content_type:
                    headers["Content-Type"] = content_type
                return await gateway.request(method, path, headers=headers, content=body)

            return list(await asyncio.gather(*(send(*request) for request in requests)))


@dataclass(frozen=True)
class Client:
    """A private copy of the demo client: ids are `<prefix>-plan`, `<prefix>-team`, ...; `hetu`
    its own henkilötunnus (a client is one person: no copy shares the demo's)."""

    prefix: str
    hetu: str

    def ref(self, kind: str) -> str:
        """`kind` is e.g. "plan" → "CarePlan/<prefix>-plan", "goal-home" → "Goal/<prefix>-goal-home"."""
        rtype = {"plan": "CarePlan", "team": "CareTeam", "consent": "Consent", "client": "Patient"}.get(kind)
        rtype = rtype or ("Goal" if kind.startswith("goal") else "Condition")
        return f"{rtype}/{self.prefix}-{kind}"


DEMO_HETU = "140307A946S"
_CLIENT_IDS = re.compile(r"demo-(client|need-[a-z]+|goal-[a-z]+|team|plan|consent)\b")


def fresh_hetu() -> str:
    """A test henkilötunnus (individual number 900–999, born 2000–2009), valid, never the demo's."""
    while True:
        day, month, year, individual = (random.randint(1, 28), random.randint(1, 12), random.randint(0, 9),
                                        random.randint(900, 999))  # fmt: skip
        digits = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
        hetu = f"{digits[:6]}A{digits[6:]}{hetu_check_character(digits)}"
        if hetu != DEMO_HETU:
            return hetu


def copy_demo_client(fhir: httpx.Client) -> Client:
    """A fresh copy of the demo client's data on HAPI (written directly, as one transaction),
    with a henkilötunnus (and so a date of birth) of its own."""
    prefix, hetu = "w" + uuid.uuid4().hex[:10], fresh_hetu()
    entries = []
    for resource in (entry["resource"] for entry in demo_bundle()["entry"]):
        if not _CLIENT_IDS.fullmatch(resource["id"]):
            continue
        copied = json.loads(_CLIENT_IDS.sub(lambda m: f"{prefix}-{m.group(1)}", json.dumps(resource)))
        if copied["resourceType"] == "Patient":
            for identifier in copied["identifier"]:
                if identifier["system"] == HETU_SYSTEM:
                    identifier["value"] = hetu
            copied["birthDate"] = parse_hetu(hetu).birth_date.isoformat()
        path = f"{copied['resourceType']}/{copied['id']}"
        entries.append(
            {"fullUrl": f"{fhir.base_url}/{path}", "resource": copied, "request": {"method": "PUT", "url": path}}
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    answer = fhir.post("", json=bundle, headers={"Content-Type": FHIR_JSON})
    assert answer.status_code == 200, answer.text
    return Client(prefix, hetu)


def assert_answered_as_missing(hidden: httpx.Response, missing: httpx.Response, path: str, missing_path: str) -> None:
    """`hidden` is answered exactly as `missing`: status, headers (but the request id) and body,
    the body naming its own path in the same words."""
    assert hidden.status_code == missing.status_code == 404
    assert sorted(hidden.headers.keys()) == sorted(missing.headers.keys())
    for name in set(missing.headers.keys()) - {"x-request-id", "content-length"}:
        assert hidden.headers[name] == missing.headers[name], name
    assert hidden.text.replace(path, missing_path) == missing.text
