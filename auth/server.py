"""The authorization server over HTTP: token, introspection, JWKS and SMART discovery endpoints.

    POST /auth/token                      client_credentials + private_key_jwt → access token
    POST /auth/introspect                 RFC 7662, the caller authenticates with private_key_jwt
    GET  /auth/jwks                       public keys of access tokens (current + not yet pruned)
    GET  /.well-known/smart-configuration SMART discovery

Every OAuth failure is answered as RFC 6749 §5.2 JSON `{"error", "error_description"}` with
`Cache-Control: no-store`: 400, 401 for invalid_client, 503 when a dependency failed, 500
`server_error` for a bug — never a stack trace, never a secret in a description.

Each endpoint runs through `around(request, endpoint, handle)`, given by whoever mounts the
router (the gateway runs it in its audited frame, so that every request, refused ones too,
is recorded): `handle()` answers the request and says why it was refused — for the token
endpoint the client id the caller claimed (as given, unverified) and the OAuth error — or
None when it was not.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.assertion import ASSERTION_ALGORITHMS, JWT_BEARER, AssertionVerifier, VerifiedAssertion
from auth.claims import read_acting_claims
from auth.config import INTROSPECTION_PATH, JWKS_PATH, SMART_CONFIGURATION_PATH, TOKEN_PATH, AuthConfig
from auth.errors import (
    ClaimMismatch,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from auth.forms import read_form, required
from auth.principal import InvalidToken, Principal, TokenVerifier
from auth.professionals import ProfessionalRole, require_acting_professional
from auth.scopes import grant_requested
from auth.tokens import IssuedToken, TokenIssuer
from gateway.fhir.codes import PurposeOfUse

__all__ = ["Around", "Handled", "create_auth_app", "create_auth_router"]

_log = logging.getLogger("auth.server")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_SCOPE_PARAMETER = 4096
_MAX_CLAIMED_ID = 200


@dataclass(frozen=True)
class Handled:
    """An endpoint's answer; why it refused the request (None: it did not); and, when it
    authenticated its caller, who that was and what it was given (the client a token was
    issued to, and for whom), for the record of the request."""

    response: JSONResponse
    refusal: str | None = None
    caller: str | None = None


Around = Callable[[Request, str, Callable[[], Awaitable[Handled]]], Awaitable[Response]]
"""Runs one endpoint (`request`, the endpoint's name, its handler) and returns what is sent."""


async def _alone(request: Request, endpoint: str, handle: Callable[[], Awaitable[Handled]]) -> Response:
    return (await handle()).response


def create_auth_app(config: AuthConfig) -> FastAPI:
    """A FastAPI application serving only the authorization server's endpoints."""
    app = FastAPI(title="Yhteys authorization server", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_auth_router(config))
    return app


def create_auth_router(config: AuthConfig, around: Around = _alone) -> APIRouter:
    """The endpoints as a router, for mounting into another application (e.g. the gateway),
    each run through `around` (see the module doc)."""
    server = _AuthServer(config)
    router = APIRouter()

    async def token(request: Request) -> Response:
        return await around(request, "token", lambda: server.token(request))

    async def introspect(request: Request) -> Response:
        return await around(request, "introspect", lambda: server.introspect(request))

    async def jwks(request: Request) -> Response:
        return await around(request, "jwks", server.jwks)

    async def smart_configuration(request: Request) -> Response:
        return await around(request, "smart-configuration", server.smart_configuration)

    router.add_api_route(TOKEN_PATH, token, methods=["POST"])
    router.add_api_route(INTROSPECTION_PATH, introspect, methods=["POST"])
    router.add_api_route(JWKS_PATH, jwks, methods=["GET"])
    router.add_api_route(SMART_CONFIGURATION_PATH, smart_configuration, methods=["GET"])
    return router


class _AuthServer:
    """The endpoint handlers over one `AuthConfig`; every handler answers, none raises.

    Introspection is open to every registered client that authenticates (private_key_jwt,
    aud = the introspection URL; no Yhteys acting claims needed): an access token's claims are
    readable by whoever holds it, so introspection tells its holder nothing new.
    """

    def __init__(self, config: AuthConfig) -> None:
        self._config = config
        self._assertions = AssertionVerifier(
            config.registry, config.jti_cache, config.clock, leeway=config.assertion_leeway
        )
        self._issuer = TokenIssuer(
            config.signing_keys,
            issuer=config.issuer,
            audience=config.fhir_audience,
            clock=config.clock,
            lifetime=config.token_lifetime,
        )
        self._tokens = TokenVerifier(
            config.signing_keys,
            issuer=config.issuer,
            audience=config.fhir_audience,
            clock=config.clock,
            leeway=config.token_leeway,
        )

    async def token(self, request: Request) -> Handled:
        form: Mapping[str, str] = {}
        try:
            form = await read_form(request)
            issued, whom = await self._issue(form)
        except Exception as exc:
            return Handled(_error_response(exc, "token"), f"token refused to client_id {_claimed(form)!r}: {_why(exc)}")
        body = {
            "access_token": issued.access_token,
            "token_type": issued.token_type,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }
        return Handled(JSONResponse(body, headers=_NO_STORE), caller=f"token {issued.jti} issued to {whom}")

    async def introspect(self, request: Request) -> Handled:
        form: Mapping[str, str] = {}
        try:
            form = await read_form(request)
            verified = await self._authenticate_caller(form)
            answer = self._introspection(required(form, "token"))
        except Exception as exc:
            why = f"introspection refused to client_id {_claimed(form)!r}: {_why(exc)}"
            return Handled(_error_response(exc, "introspection"), why)
        whom = f"introspection by client_id {verified.client.client_id!r}"
        return Handled(JSONResponse(answer, headers=_NO_STORE), caller=whom)

    async def jwks(self) -> Handled:
        keys = self._config.signing_keys
        keys.prune(self._config.clock())
        return Handled(JSONResponse(keys.jwks(), headers={"Cache-Control": "max-age=60"}))

    async def smart_configuration(self) -> Handled:
        config = self._config
        response = JSONResponse(
            {
                "issuer": config.issuer,
                "jwks_uri": config.jwks_uri,
                "token_endpoint": config.token_endpoint,
                "introspection_endpoint": config.introspection_endpoint,
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
                "scopes_supported": list(config.registry.scopes_supported),
                "capabilities": ["client-confidential-asymmetric", "permission-v2"],
            }
        )
        return Handled(response)

    async def _issue(self, form: Mapping[str, str]) -> tuple[IssuedToken, str]:
        """The token `form` asks for, and to whom it is issued (client, professional, purpose, scope)."""
        grant_type = required(form, "grant_type")
        if grant_type != "client_credentials":
            raise UnsupportedGrantType("only grant_type=client_credentials is supported")
        scope_text = required(form, "scope")
        if len(scope_text) > _MAX_SCOPE_PARAMETER:
            raise InvalidRequest(f"the scope parameter exceeds {_MAX_SCOPE_PARAMETER} characters")
        verified = await self._authenticate(form, self._config.token_endpoint)
        client = verified.client
        acting = read_acting_claims(verified.claims)
        scopes = grant_requested(scope_text, client.allowed_scopes)
        if scopes.dropped:
            _log.info("token for %s: %d requested scope(s) not granted", client.client_id, len(scopes.dropped))
        if not scopes.granted:
            raise InvalidScope("none of the requested scopes can be granted to this client")
        professional = await self._professional(acting.practitioner_role, client.organization)
        issued = self._issuer.issue(client, professional, acting, scopes.granted)
        whom = (
            f"client_id {client.client_id!r} acting as {professional.reference}, "
            f"purpose {acting.purpose_of_use.value}, scope {issued.scope!r}"
        )
        _log.info("token %s issued to %s", issued.jti, whom)
        return issued, whom

    async def _authenticate(self, form: Mapping[str, str], audience: str) -> VerifiedAssertion:
        if required(form, "client_assertion_type") != JWT_BEARER:
            raise InvalidRequest(f"client_assertion_type must be {JWT_BEARER}")
        verified = await self._assertions.verify(required(form, "client_assertion"), audience)
        if form.get("client_id", verified.client.client_id) != verified.client.client_id:
            raise ClaimMismatch("client_id does not match the client assertion")
        return verified

    async def _authenticate_caller(self, form: Mapping[str, str]) -> VerifiedAssertion:
        """Authenticate an introspecting caller; every failure to authenticate is invalid_client (401)."""
        try:
            return await self._authenticate(form, self._config.introspection_endpoint)
        except InvalidRequest as exc:
            raise InvalidClient(exc.description) from None

    async def _professional(self, reference: str, organization: str) -> ProfessionalRole:
        try:
            found = await self._config.professionals.lookup(reference)
        except Exception as exc:
            _log.warning("professional directory failed (%s)", exc.__class__.__name__)
            raise TemporarilyUnavailable("the professional directory is unavailable; try again later") from exc
        return require_acting_professional(found, organization)

    def _introspection(self, token: str) -> dict[str, object]:
        try:
            principal = self._tokens.authenticate(token)
        except InvalidToken:
            return {"active": False}
        if principal.expires_at <= self._config.clock():
            return {"active": False}
        return _active(principal, self._config)


def _active(principal: Principal, config: AuthConfig) -> dict[str, object]:
    answer: dict[str, object] = {
        "active": True,
        "scope": " ".join(str(scope) for scope in principal.scopes),
        "client_id": principal.client_id,
        "token_type": "bearer",
        "exp": principal.expires_at,
        "iat": principal.issued_at,
        "sub": principal.client_id,
        "aud": config.fhir_audience,
        "iss": config.issuer,
        "jti": principal.jti,
        "organization": principal.organization,
        "organization_oid": principal.organization_oid,
        "sector": principal.sector.value,
        "practitioner_role": principal.practitioner_role,
        "team_roles": list(principal.team_roles),
        "purpose_of_use": principal.purpose_of_use.value,
    }
    if principal.purpose_of_use is PurposeOfUse.BTG:
        answer["btg_reason"] = principal.btg_reason
    return answer


def _claimed(form: Mapping[str, str]) -> str:
    """The client id a request claims, unverified: its `client_id`, else its assertion's `sub`."""
    claimed = form.get("client_id", "")
    if not claimed:
        try:
            payload = form.get("client_assertion", "").split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claimed = claims.get("sub", "") if isinstance(claims, dict) else ""
        except (IndexError, ValueError):
            claimed = ""
    return str(claimed)[:_MAX_CLAIMED_ID]


def _why(exc: Exception) -> str:
    """The refusal as recorded: the OAuth error and its description (no more for a bug)."""
    if isinstance(exc, OAuthError):
        return f"{exc.error}: {exc.description}"
    return "server_error"


def _error_response(exc: Exception, endpoint: str) -> JSONResponse:
    if not isinstance(exc, OAuthError):
        _log.error("%s endpoint failed unexpectedly (%s)", endpoint, exc.__class__.__name__)
        body = {"error": "server_error", "error_description": "the authorization server failed"}
        return JSONResponse(body, status_code=500, headers=_NO_STORE)
    _log.info("%s refused: %s (%s)", endpoint, exc.error, exc.__class__.__name__)
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status_code, headers=_NO_STORE)
