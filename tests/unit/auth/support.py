"""Test doubles and builders for the auth unit tests (no network, no FHIR server).

`ManualClock` is a clock tests move by hand; `MemoryDirectory` is a professional directory
double; `claims_for` and `sign` build client assertions as a connected system would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
import warnings
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey
from starlette.exceptions import StarletteDeprecationWarning

from auth.claims import PRACTITIONER_ROLE_CLAIM
from auth.professionals import ProfessionalRole, UnknownProfessional

# Starlette 1.x asks for the `httpx2` package behind TestClient and warns (an error under our
# filterwarnings) when it falls back to `httpx`, which is what the project installs. Only this
# one deprecation is silenced, only for the import; installing httpx2 makes it moot.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "FHIR_AUDIENCE",
    "INTROSPECTION_URL",
    "ISSUER",
    "PSYCH",
    "PSYCH_NURSE",
    "PSYCH_ORG",
    "START",
    "TOKEN_URL",
    "TestClient",
    "YOUTH",
    "YOUTH_ORG",
    "YOUTH_WORKER",
    "ManualClock",
    "MemoryDirectory",
    "b64url",
    "claims_for",
    "public_jwk",
    "registry_data",
    "sign",
    "sign_hmac",
    "unsigned",
]

ISSUER = "https://auth.yhteys.test"
TOKEN_URL = ISSUER + "/auth/token"
INTROSPECTION_URL = ISSUER + "/auth/introspect"
FHIR_AUDIENCE = "https://gateway.yhteys.test/fhir"
START = 1_800_000_000.0

YOUTH = "youth-services-system"
PSYCH = "psychiatry-ehr"
YOUTH_ORG = "Organization/demo-org-youth-services"
PSYCH_ORG = "Organization/demo-org-psychiatry"
YOUTH_WORKER = "PractitionerRole/demo-role-youth-worker"
PSYCH_NURSE = "PractitionerRole/demo-role-psych-nurse"


class ManualClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class MemoryDirectory:
    """A professional directory double: a dict of roles; `failure` makes every lookup raise."""

    roles: dict[str, ProfessionalRole] = field(default_factory=dict)
    failure: Exception | None = None
    lookups: list[str] = field(default_factory=list)

    async def lookup(self, practitioner_role: str) -> ProfessionalRole | UnknownProfessional:
        self.lookups.append(practitioner_role)
        if self.failure is not None:
            raise self.failure
        return self.roles.get(practitioner_role, UnknownProfessional(practitioner_role))


def registry_data(youth_key: ECKey, psych_key: RSAKey) -> dict[str, object]:
    """Registry data: the youth system (ES384, read-only scopes) and the psychiatry EHR (RS384)."""
    return {
        "clients": [
            {
                "client_id": YOUTH,
                "organization": YOUTH_ORG,
                "organization_oid": "1.2.246.10.99990004.10.0",
                "sector": "municipal-youth-services",
                "allowed_scopes": ["system/CarePlan.rs", "system/CareTeam.rs", "system/Goal.rs"],
                "jwks": {"keys": [public_jwk(youth_key)]},
            },
            {
                "client_id": PSYCH,
                "organization": PSYCH_ORG,
                "organization_oid": "1.2.246.10.99990003.10.0",
                "sector": "hospital-psychiatry",
                "allowed_scopes": ["system/CarePlan.cruds", "system/Goal.cruds", "system/*.rs"],
                "jwks": {"keys": [public_jwk(psych_key)]},
            },
        ]
    }


def public_jwk(key: ECKey | RSAKey | OKPKey) -> dict[str, object]:
    """The public JWK of `key`, as a client would register it."""
    return dict(key.as_dict(private=False))


def claims_for(
    client_id: str,
    now: float,
    *,
    aud: object = TOKEN_URL,
    lifetime: float = 120,
    practitioner_role: str = "PractitionerRole/demo-role-youth-worker",
    **extra: object,
) -> dict[str, object]:
    """The claims of a valid assertion for `client_id` at `now` (extra claims added as given)."""
    claims: dict[str, object] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": int(now),
        "exp": int(now + lifetime),
        "jti": str(uuid.uuid4()),
        PRACTITIONER_ROLE_CLAIM: practitioner_role,
    }
    claims.update(extra)
    return claims


def sign(claims: dict[str, object], key: ECKey | RSAKey, *, alg: str = "ES384", kid: str | None = "use-key") -> str:
    """A compact JWS of `claims` signed by `key` with `alg`; kid "use-key" means the key's own."""
    header: dict[str, object] = {"alg": alg}
    chosen = key.kid if kid == "use-key" else kid
    if chosen is not None:
        header["kid"] = chosen
    return jwt.encode(header, claims, key, algorithms=[alg])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, object], *, kid: str | None = None) -> str:
    """An alg "none" token, as an attacker would send it."""
    header: dict[str, object] = {"alg": "none", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def sign_hmac(claims: dict[str, object], secret: bytes, *, alg: str = "HS256", kid: str | None = None) -> str:
    """An HMAC-signed token with `secret` (e.g. the client's public key PEM: key confusion)."""
    header: dict[str, object] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}[alg]
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"
