"""Helpers of the conformance checks: the published fixtures, break-the-glass tokens, and the
stored audit events of an in-process gateway."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import KeySet

from auth.claims import ActingClaims
from auth.professionals import ProfessionalRole
from auth.registry import ClientRegistration
from auth.scopes import parse_scope
from auth.tokens import TokenIssuer
from gateway.fhir.codes import PurposeOfUse
from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import ISSUER, KEYS, PUBLIC_BASE, READ_SCOPES, Gateway, Member

FIXTURES = Path(__file__).parent / "fixtures"
AUTHZ = "110113"


def fixture(name: str) -> Any:
    """The JSON fixture `name` (under tests/conformance/fixtures/)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def member_token(
    member: Member,
    scopes: tuple[str, ...] = READ_SCOPES,
    purpose: PurposeOfUse = PurposeOfUse.TREAT,
    reason: str = "",
) -> str:
    """An access token of `member` (as tests.e2e.gateway_harness.token) with any purpose."""
    issuer = TokenIssuer(KEYS, issuer=ISSUER, audience=PUBLIC_BASE, clock=time.time)
    parsed = tuple(parse_scope(s) for s in scopes)
    client = ClientRegistration(
        member.client_id, member.organization, "1.2.246.10.1", member.sector, parsed, KeySet([])
    )
    professional = ProfessionalRole(member.role, member.organization, (member.team_role,), True)
    acting = ActingClaims(member.role, purpose, reason)
    return issuer.issue(client, professional, acting, parsed).access_token


def jti_of(access_token: str) -> str:
    """The jti claim of a compact JWS access token (read, not verified: the gateway verifies)."""
    payload = access_token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    jti: str = claims["jti"]
    return jti


def stored_events(call: Gateway) -> list[dict[str, Any]]:
    """Every AuditEvent in the gateway's trail, oldest first."""
    return [json.loads(stored.event) for stored in call.audit.store.events()]


def authz_events(call: Gateway) -> list[dict[str, Any]]:
    """The AuthZ decision events (type DCM#110113) in the gateway's trail."""
    return [event for event in stored_events(call) if event["type"]["code"] == AUTHZ]


def put_on_store(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    """Write `resource` to HAPI directly (test set-up, not through the gateway)."""
    path = f"/{resource['resourceType']}/{resource['id']}"
    answer = fhir.put(path, json=resource, headers={"Content-Type": FHIR_JSON})
    assert answer.status_code in (200, 201), answer.text


def on_store(fhir: httpx.Client, reference: str) -> dict[str, Any]:
    """`reference` as HAPI holds it now."""
    answer = fhir.get(f"/{reference}", headers={"Cache-Control": "no-cache"})
    assert answer.status_code == 200, answer.text
    resource: dict[str, Any] = answer.json()
    return resource
