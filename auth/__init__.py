"""The Yhteys authorization server: SMART Backend Services for connected systems.

A connected system (school welfare, social welfare, hospital psychiatry, municipal youth
services, …) proves who it is with a private_key_jwt client assertion that also names the
acting professional and the purpose of use; it receives a short-lived ES256 access token
whose SMART v2 scopes are never wider than it asked for and is allowed. The gateway turns
that token into a `Principal` (as Starlette's `AuthenticationBackend.authenticate` does).

Module map (each module holds one concept):

    clock          Clock type, system_clock, MAX_LEEWAY (30 s)
    errors         OAuthError hierarchy (error code + status per class)
    scopes         Scope, parse_scope, grant, grant_requested — SMART v2 scopes
    registry       ClientRegistry, ClientRegistration, load_registry — clients from YAML
    jti            JtiCache protocol, InMemoryJtiCache — single use of assertions
    claims         ActingClaims, PurposeOfUse, read_acting_claims — Yhteys assertion claims
    assertion      AssertionVerifier — RFC 7523 client assertion checks
    professionals  ProfessionalDirectory, FhirProfessionalDirectory, require_acting_professional
    keys           SigningKeys (ES256, rotation, JWKS), load_signing_key
    tokens         TokenIssuer, AccessTokenClaims, IssuedToken — minting access tokens
    principal      TokenVerifier, Principal, InvalidToken — the resource-server side
    config         AuthConfig and the endpoint paths
    forms          read_form — OAuth form bodies
    server         create_auth_app, create_auth_router — the HTTP endpoints
"""

from __future__ import annotations

from auth.config import AuthConfig
from auth.principal import InvalidToken, Principal, TokenVerifier
from auth.server import create_auth_app, create_auth_router

__all__ = ["AuthConfig", "InvalidToken", "Principal", "TokenVerifier", "create_auth_app", "create_auth_router"]
