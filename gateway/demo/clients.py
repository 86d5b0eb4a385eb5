"""The four demo team systems as registered clients, and tokens for them.

`ensure_demo_clients(folder)` creates once, under `folder`, a private ES384 key per demo system
(`<client_id>.jwk`, mode 0600) and the client registry `clients.yaml` that the authorization
server loads (public keys only). `demo_token(...)` does what each system does in production:
signs a client assertion naming its acting professional and exchanges it at the token endpoint.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from joserfc import jwt
from joserfc.jwk import ECKey

from auth.assertion import JWT_BEARER
from auth.claims import BTG_REASON_CLAIM, PRACTITIONER_ROLE_CLAIM, PURPOSE_OF_USE_CLAIM
from gateway.fhir.resources import SERVED_TYPES

__all__ = ["DEMO_CLIENTS", "DemoClient", "DemoClientError", "demo_token", "ensure_demo_clients"]

_READ_WRITE = sorted(SERVED_TYPES)


class DemoClientError(RuntimeError):
    """A demo token could not be had; the message says why."""


@dataclass(frozen=True)
class DemoClient:
    """One demo system: its registration (with its name for people) and the professional it acts
    for by default."""

    client_id: str
    name: str
    organization: str
    organization_oid: str
    sector: str
    practitioner_role: str
    scopes: tuple[str, ...] = tuple(f"system/{rtype}.cruds" for rtype in _READ_WRITE)
    default_scope: str = "system/CarePlan.rs system/Goal.rs system/CareTeam.rs system/Condition.rs system/Patient.rs"


DEMO_CLIENTS = (
    DemoClient(
        "school-welfare-system",
        "Opiskeluhuollon asiakasjärjestelmä (demo)",
        "Organization/demo-org-school-welfare",
        "1.2.246.10.99990001.10.0",
        "school-welfare",
        "PractitionerRole/demo-role-curator",
    ),
    DemoClient(
        "social-welfare-system",
        "Sosiaalihuollon asiakasjärjestelmä (demo)",
        "Organization/demo-org-social-welfare",
        "1.2.246.10.99990002.10.0",
        "child-protection",
        "PractitionerRole/demo-role-social-worker",
    ),
    DemoClient(
        "psychiatry-ehr",
        "Sairaalan potilastietojärjestelmä (demo)",
        "Organization/demo-org-psychiatry",
        "1.2.246.10.99990003.10.0",
        "hospital-psychiatry",
        "PractitionerRole/demo-role-psych-nurse",
    ),
    DemoClient(
        "youth-system",
        "Nuorisopalvelujen asiakasjärjestelmä (demo)",
        "Organization/demo-org-youth-services",
        "1.2.246.10.99990004.10.0",
        "municipal-youth-services",
        "PractitionerRole/demo-role-youth-worker",
    ),
    DemoClient(
        "audit-console",
        "Lokivalvonnan konsoli (demo)",
        "Organization/demo-org-social-welfare",
        "1.2.246.10.99990002.10.0",
        "social-welfare",
        "PractitionerRole/demo-role-auditor",
        ("system/AuditEvent.rs",),
        "system/AuditEvent.rs",
    ),
)


def ensure_demo_clients(folder: Path) -> Path:
    """Create the demo keys (once) and (re)write the registry; return the registry's path."""
    folder.mkdir(parents=True, exist_ok=True)
    clients = []
    for client in DEMO_CLIENTS:
        key = _client_key(folder, client.client_id)
        clients.append(
            {
                "client_id": client.client_id,
                "name": client.name,
                "organization": client.organization,
                "organization_oid": client.organization_oid,
                "sector": client.sector,
                "allowed_scopes": list(client.scopes),
                "jwks": {"keys": [dict(key.as_dict(private=False))]},
            }
        )
    registry = folder / "clients.yaml"
    registry.write_text(yaml.safe_dump({"clients": clients}, sort_keys=False), encoding="utf-8")
    return registry


def demo_token(
    folder: Path,
    token_endpoint: str,
    client_id: str,
    *,
    scope: str = "",
    practitioner_role: str | None = None,
    purpose: str = "TREAT",
    btg_reason: str = "",
) -> str:
    """An access token for demo system `client_id`, from the token endpoint."""
    client = next((c for c in DEMO_CLIENTS if c.client_id == client_id), None)
    if client is None:
        raise DemoClientError(
            f"no demo system {client_id!r}; choose one of {', '.join(c.client_id for c in DEMO_CLIENTS)}"
        )
    key = _client_key(folder, client_id)
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": now,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
        PRACTITIONER_ROLE_CLAIM: practitioner_role or client.practitioner_role,
        PURPOSE_OF_USE_CLAIM: purpose,
    }
    if btg_reason:
        claims[BTG_REASON_CLAIM] = btg_reason
    assertion = jwt.encode({"alg": "ES384", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["ES384"])
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": scope or client.default_scope,
    }
    try:
        response = httpx.post(token_endpoint, data=form, timeout=30.0)
    except httpx.HTTPError as exc:
        raise DemoClientError(f"the token endpoint {token_endpoint} did not answer: {exc}") from exc
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "access_token" not in body:
        raise DemoClientError(f"the token endpoint refused ({response.status_code}): {body or response.text[:300]}")
    token: str = body["access_token"]
    return token


def _client_key(folder: Path, client_id: str) -> ECKey:
    path = folder / f"{client_id}.jwk"
    if not path.exists():
        key = ECKey.generate_key("P-384", parameters={"kid": f"{client_id}-1"}, private=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(key.as_dict(private=True), handle)
    return ECKey.import_key(json.loads(path.read_text()))
