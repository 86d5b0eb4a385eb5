"""The gateway as a running service, assembled from `Settings`.

`build_gateway(settings)` reads the FHIR store's CapabilityStatement (so the store must be
serving), the client registry and the token signing key from `settings.gateway_dir`, and
returns the ASGI application: the authorization server at the gateway's origin and the FHIR
request path at `<origin>/fhir`, in front of HAPI. `serve(settings)` runs it with uvicorn
in the foreground. Any fault in the files raises `GatewayStartError` before anything listens.

For benchmarks and tests, `build_gateway(settings, audit=sink)` hands the FHIR path's audit
records to `sink` instead of the trail; the trail is opened all the same, and the /audit
endpoints still read it and record their own use in it.
"""

from __future__ import annotations

import httpx
import uvicorn
from fastapi import FastAPI

from auth.clock import system_clock
from auth.config import AuthConfig
from auth.jti import InMemoryJtiCache
from auth.keys import SigningKeyError, SigningKeys, load_signing_key
from auth.principal import TokenVerifier
from auth.professionals import FhirProfessionalDirectory
from auth.registry import RegistryError, load_registry
from auth.server import create_auth_router
from gateway.access.consent.decider import ConsentPolicy
from gateway.access.policy import load_policy
from gateway.app.asgi import create_app
from gateway.audit.setup import checkpoint_key, open_store
from gateway.audit.sink import AuditSink
from gateway.audit.store import StoreError
from gateway.audit.trail import AuditTrail
from gateway.proxy.capabilities import capability_statement
from gateway.proxy.dispatch import Pipeline
from gateway.proxy.search import load_search_rules
from gateway.review.api import create_audit_router
from gateway.settings import Settings
from gateway.store.client import Upstream

__all__ = ["GatewayStartError", "build_gateway", "serve"]


class GatewayStartError(RuntimeError):
    """The gateway cannot start; the message says why."""


def build_gateway(settings: Settings, *, audit: AuditSink | None = None) -> FastAPI:
    """The gateway application for `settings`; see the module doc.

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
    except (RegistryError, SigningKeyError, StoreError, ValueError, OSError) as exc:
        raise GatewayStartError(str(exc)) from exc
    origin = settings.gateway_origin
    public_base = f"{origin}/fhir"
    trail = AuditTrail(audit_store, audit_key, server=public_base)
    store = httpx.AsyncClient(timeout=60.0)  # the directory of professionals, read at token issue
    upstream = Upstream(store_base, timeout=60.0, max_connections=50)  # the hot path
    auth_config = AuthConfig.at(
        origin,
        fhir_audience=public_base,
        registry=registry,
        signing_keys=keys,
        jti_cache=InMemoryJtiCache(system_clock),
        professionals=FhirProfessionalDirectory(store_base, store),
    )
    search_rules = load_search_rules()
    pipeline = Pipeline(
        verifier=TokenVerifier(keys, issuer=origin, audience=public_base, clock=system_clock),
        upstream=upstream,
        role_policy=load_policy(),
        consent_policy=ConsentPolicy(),
        search_rules=search_rules,
        resource_types=resource_types,
        audit=trail if audit is None else audit,
        public_base=public_base,
        capabilities=capability_statement(
            public_base, auth_config.token_endpoint, auth_config.introspection_endpoint, search_rules, store_statement
        ),
        max_body=settings.gateway_max_body,
    )

    async def close() -> None:
        await trail.close()
        await upstream.close()
        await store.aclose()

    audit_router = create_audit_router(pipeline.verifier, pipeline.role_policy, trail)
    return create_app(pipeline, create_auth_router(auth_config), audit_router, on_close=close)


def serve(settings: Settings) -> None:
    """Run the gateway in the foreground until interrupted."""
    uvicorn.run(build_gateway(settings), host=settings.gateway_host, port=settings.gateway_port, log_level="warning")
