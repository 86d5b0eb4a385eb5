"""Access tokens: short-lived ES256 JWTs that say which system acts for which professional, and why.

A token carries the registered facts about the client (organisation, its SOTE OID, sector),
the acting professional (PractitionerRole and team-role codes), the purpose of use, and the
granted SMART v2 scopes. Its shape is `AccessTokenClaims`; `auth.principal` reads the same
shape back. Tokens live `DEFAULT_TOKEN_LIFETIME` (300 s) unless configured shorter or longer
(at most `MAX_TOKEN_LIFETIME`). Signing, and the choice of ES256 over ES384, is `auth.keys`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from auth.claims import ActingClaims
from auth.clock import Clock
from auth.keys import SigningKeys
from auth.professionals import ProfessionalRole
from auth.registry import ClientRegistration
from auth.scopes import Scope
from gateway.fhir.codes import PurposeOfUse

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_TOKEN_LIFETIME",
    "AccessTokenClaims",
    "IssuedToken",
    "TokenIssuer",
]

DEFAULT_TOKEN_LIFETIME = 300
MAX_TOKEN_LIFETIME = 3600


class AccessTokenClaims(TypedDict):
    """The payload of a Yhteys access token (btg_reason only when purpose_of_use is BTG)."""

    iss: str
    aud: str
    sub: str
    client_id: str
    iat: int
    exp: int
    jti: str
    scope: str
    organization: str
    organization_oid: str
    sector: str
    practitioner_role: str
    team_roles: list[str]
    purpose_of_use: str
    btg_reason: NotRequired[str]


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed access token and what the token response reports about it."""

    access_token: str
    expires_in: int
    scope: str
    jti: str
    expires_at: int
    token_type: str = "bearer"


class TokenIssuer:
    """Mints access tokens for `audience` (the gateway's FHIR base) as `issuer`."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        audience: str,
        clock: Clock,
        lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        if not 0 < lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"token lifetime must be 1..{MAX_TOKEN_LIFETIME} s")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._lifetime = lifetime

    def issue(
        self,
        client: ClientRegistration,
        professional: ProfessionalRole,
        acting: ActingClaims,
        scopes: tuple[Scope, ...],
    ) -> IssuedToken:
        """Sign a token for `client` acting for `professional`; `scopes` must be non-empty.

        The caller is responsible for having authenticated the client, checked the
        professional (`require_acting_professional`) and computed `scopes` with
        `auth.scopes.grant`; this method adds no checks of its own beyond non-empty scopes.
        """
        if not scopes:
            raise ValueError("an access token needs at least one granted scope")
        issued_at = int(self._clock())
        scope_text = " ".join(str(scope) for scope in scopes)
        claims: AccessTokenClaims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": issued_at,
            "exp": issued_at + self._lifetime,
            "jti": secrets.token_urlsafe(24),
            "scope": scope_text,
            "organization": client.organization,
            "organization_oid": client.organization_oid,
            "sector": client.sector.value,
            "practitioner_role": professional.reference,
            "team_roles": list(professional.team_roles),
            "purpose_of_use": acting.purpose_of_use.value,
        }
        if acting.purpose_of_use is PurposeOfUse.BTG:
            claims["btg_reason"] = acting.btg_reason
        token = self._keys.sign(claims)
        return IssuedToken(
            access_token=token,
            expires_in=self._lifetime,
            scope=scope_text,
            jti=claims["jti"],
            expires_at=claims["exp"],
        )
