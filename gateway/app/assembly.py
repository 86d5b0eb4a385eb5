"""The one assembly of the gateway: `build_gateway(settings)`, used by every way of running it.

`yhteys gateway serve`, `yhteys run`, the benchmarks and the e2e tests all build the gateway
here. `build_gateway(settings)` reads the FHIR store's CapabilityStatement (so the store must
be serving), the client registry, the token signing key and the page cursors' key from
`settings.gateway_dir`,
opens the audit trail, and returns a `Gateway`: the ASGI application — the authorization
server at the gateway's origin, the auditors' `/audit` endpoints (open to a bearer token or a
logged-in auditor's session), browser login at `/login` when an identity provider is
configured (`settings.oidc_issuer`; `gateway.login`), and the FHIR path at
`<origin>/fhir`, in front of HAPI, every endpoint inside the one audited frame — with its
trail and the coroutine that releases it all. `serve(settings)` runs it with uvicorn in the
foreground. Any fault in the files raises `GatewayStartError` before anything listens.

For benchmarks and tests, `build_gateway(settings, audit=sink)` hands the FHIR path's audit
records to `sink` instead of the trail; the trail is opened all the same, and the /audit
endpoints still read it and record their own use in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import uvicorn
from fastapi import FastAPI

from auth.clock import system_clock
from auth.config import AuthConfig
from auth.jti import InMemoryJtiCache
from auth.keys import SigningKeyError, SigningKeys, load_signing_key
from auth.principal import Principal, TokenVerifier
from auth.professionals import FhirProfessionalDirectory
from auth.registry import RegistryError, load_registry
from auth.server import create_auth_router
from gateway.access.consent.decider import ConsentPolicy
from gateway.access.decider import Policies
from gateway.access.policy import load_policy
from gateway.access.reasons import ReasonCatalogue
from gateway.app.asgi import create_app, in_frame
from gateway.app.forwarded import networks_of
from gateway.app.frame import AuditedFrame
from gateway.audit.setup import checkpoint_key, open_store
from gateway.audit.sink import AuditSink
from gateway.audit.store import StoreError
from gateway.audit.trail import AuditTrail
from gateway.login.oidc import OidcConfig, OidcProvider
from gateway.login.people import (
    ActingFor,
    Citizen,
    ClaimsMapping,
    Professional,
    SessionGrant,
    citizen_principals,
    professional_principal,
)
from gateway.login.routes import PeopleLogin, create_login_router
from gateway.login.sessions import PendingLogins, SessionCookies, SessionDoor, Sessions
from gateway.own.routes import create_own_router
from gateway.proxy.capabilities import capability_statement
from gateway.proxy.cursor import CursorSeal
from gateway.proxy.dispatch import FhirProxy
from gateway.proxy.documents import PlanDocuments
from gateway.proxy.search import check_supported, load_search_rules
from gateway.proxy.urls import PublicUrls
from gateway.review.api import create_audit_router
from gateway.review.helsinki import HELSINKI
from gateway.review.names import NameDirectory
from gateway.settings import Settings
from gateway.signing.pki import KeyRing
from gateway.store.client import Upstream

__all__ = ["Gateway", "GatewayStartError", "build_gateway", "serve", "server_config"]


class GatewayStartError(RuntimeError):
    """The gateway cannot start; the message says why."""


@dataclass(frozen=True)
class Gateway:
    """A built gateway: the application, its audit trail, and `close` (run once, at shutdown,
    when the application's own lifespan does not run it)."""

    app: FastAPI
    trail: AuditTrail
    close: Callable[[], Awaitable[None]]


def build_gateway(settings: Settings, *, audit: AuditSink | None = None) -> Gateway:
    """The gateway for `settings`; see the module doc.

    `audit` (for benchmarks and tests) receives the FHIR path's audit records in place of the
    trail; None, as in production, means the trail.
    """
    store_base = settings.hapi_base_url
    try:
        answer = httpx.get(f"{store_base}/metadata", headers={"Accept": "application/fhir+json"}, timeout=30.0)
    except httpx.HTTPError as exc:
        raise GatewayStartError(f"the FHIR store at {store_base} does not answer: {exc}") from exc
    if answer.status_code != 200:
        raise GatewayStartError(f"the FHIR store at {store_base} is not ready ({answer.status_code})")
    store_statement = answer.json()
    resource_types = frozenset(r["type"] for rest in store_statement.get("rest", []) for r in rest.get("resource", []))
    folder = settings.gateway_dir
    try:
        registry = load_registry(folder / "clients.yaml")
        keys = SigningKeys(load_signing_key(folder / "signing-key.pem"))
        audit_store = open_store(settings)
        audit_key = checkpoint_key(settings)
        cursors = CursorSeal.load(folder / "page-cursor-key")
    except (RegistryError, SigningKeyError, StoreError, ValueError, OSError) as exc:
        raise GatewayStartError(str(exc)) from exc
    origin = settings.gateway_origin
    public_base = f"{origin}/fhir"
    trail = AuditTrail(
        audit_store, audit_key, server=public_base, checkpoint_interval=settings.audit_checkpoint_ms / 1000
    )
    directory = httpx.AsyncClient(timeout=60.0)  # the directory of professionals (token issue, login)
    store = Upstream(store_base, timeout=60.0, max_connections=50)  # the hot path
    auth_config = AuthConfig.at(
        origin,
        fhir_audience=public_base,
        registry=registry,
        signing_keys=keys,
        jti_cache=InMemoryJtiCache(system_clock),
        professionals=FhirProfessionalDirectory(store_base, directory),
    )
    verifier = TokenVerifier(keys, issuer=origin, audience=public_base, clock=system_clock)
    policies = Policies(load_policy(), ConsentPolicy())
    search_rules = load_search_rules()
    check_supported(search_rules, store_statement)  # a name the store does not know stops start-up
    proxy = FhirProxy(
        store=store,
        policies=policies,
        search_rules=search_rules,
        resource_types=resource_types,
        urls=PublicUrls(store.base_url, public_base),
        capabilities=capability_statement(
            public_base, auth_config.token_endpoint, auth_config.introspection_endpoint, search_rules, store_statement
        ),
        cursors=cursors,
        max_body=settings.gateway_max_body,
        documents=PlanDocuments(
            store,
            policies,
            PublicUrls(store.base_url, public_base),
            KeyRing(settings.document_keys),
            settings.document_trust,
        ),
    )

    async def close() -> None:
        await trail.close()
        await store.close()
        await directory.aclose()

    trusted = networks_of(settings.gateway_trusted_proxies)
    names = NameDirectory.on_store(
        store, {client.client_id: client.name for client in registry.clients if client.name}, ttl=settings.names_ttl
    )
    door = SessionDoor(
        Sessions(system_clock, idle=settings.session_idle, lifetime=settings.session_lifetime),
        SessionCookies(secure=origin.startswith("https://")),
    )
    pages_frame = AuditedFrame(verifier, trail, trusted_proxies=trusted, sessions=door)
    routers = [create_audit_router(pages_frame, policies.role, trail, origin, names)]
    if settings.oidc_issuer:
        routers.append(create_login_router(pages_frame, _people_login(settings, door, directory)))
        reasons = ReasonCatalogue.of(policies.role.policy)
        routers.append(
            create_own_router(
                pages_frame, store, trail, names, reasons, door, policies.role.policy.consent_required.sectors
            )
        )
    frame = AuditedFrame(verifier, trail if audit is None else audit, trusted_proxies=trusted)
    app = create_app(frame, proxy, create_auth_router(auth_config, in_frame(frame)), *routers, on_close=close)
    return Gateway(app, trail, close)


def _people_login(settings: Settings, door: SessionDoor, client: httpx.AsyncClient) -> PeopleLogin:
    """Browser login at `settings.oidc_issuer`, with `client` for the provider and the directory."""
    origin = settings.gateway_origin
    if not settings.oidc_client_secret:
        raise GatewayStartError("YHTEYS_OIDC_CLIENT_SECRET is needed with YHTEYS_OIDC_ISSUER")
    try:
        mapping = ClaimsMapping(**dict(settings.oidc_claims))
    except TypeError:
        raise GatewayStartError(
            f"YHTEYS_OIDC_CLAIMS names only {', '.join(ClaimsMapping.__dataclass_fields__)}"
        ) from None
    config = OidcConfig(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        f"{origin}/login/callback",
        f"{origin}/login/signed-out",
    )
    directory = FhirProfessionalDirectory(settings.hapi_base_url, client)

    base = settings.hapi_base_url

    async def principal_of(person: Professional, grant: SessionGrant) -> Principal:
        return await professional_principal(
            person, mapping, directory=directory, store=client, store_base=base, grant=grant
        )

    async def citizen_of(person: Citizen, grant: SessionGrant) -> tuple[ActingFor, ...]:
        today = datetime.now(HELSINKI).date()
        return await citizen_principals(person, store=client, store_base=base, grant=grant, today=today)

    return PeopleLogin(OidcProvider(config, client), mapping, door, PendingLogins(), principal_of, citizen_of)


def server_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    """How uvicorn serves `app`: on the configured host and port, and told to leave forwarded
    headers alone — uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the gateway
    reads it itself, from `settings.gateway_trusted_proxies` only (`gateway.app.forwarded`)."""
    return uvicorn.Config(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
        proxy_headers=False,
        forwarded_allow_ips=list(settings.gateway_trusted_proxies),
    )


def serve(settings: Settings) -> None:
    """Run the gateway in the foreground until interrupted."""
    uvicorn.Server(server_config(settings, build_gateway(settings).app)).run()
