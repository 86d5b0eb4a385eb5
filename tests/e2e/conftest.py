"""Fixtures of the gateway e2e tests: the store's own statement, an in-process gateway, a copy
of the demo client, the gateway served over real HTTP, and a real Keycloak for browser login."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app.assembly import build_gateway, server_config
from gateway.demo import DemoLoad
from gateway.demo.clients import ensure_demo_clients
from gateway.demo.pki import ensure_demo_pki
from gateway.login.keycloak import DEMO_PEOPLE, Keycloak, KeycloakError, demo_realm
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.e2e.gateway_harness import Client, Gateway, copy_demo_client
from tests.ports import free_port


@dataclass(frozen=True)
class Provider:
    """The session's Keycloak with the shipped realm, registered for a gateway on `gateway_port`."""

    keycloak: Keycloak
    gateway_port: int
    client_secret: str
    passwords: dict[str, str]

    def gateway_settings(self, settings: Settings) -> Settings:
        """`settings` with login at this provider."""
        return settings.with_changes(
            oidc_issuer=self.keycloak.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=self.client_secret
        )


CLIENT_ID = "yhteys-gateway"


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """A real Keycloak (fetched from Maven Central once, run with a Java 21+) for the whole session."""
    keycloak = Keycloak(Settings.from_env().data_dir / "keycloak", tmp_path_factory.mktemp("keycloak"), free_port())
    port, secret = free_port(), secrets.token_urlsafe(24)
    passwords = {what: secrets.token_urlsafe(12) for what in DEMO_PEOPLE}
    try:
        keycloak.start(demo_realm(f"http://127.0.0.1:{port}", CLIENT_ID, secret, passwords))
    except KeycloakError as exc:
        pytest.fail(f"Keycloak cannot run, so browser login cannot be tested: {exc}")
    yield Provider(keycloak, port, secret, passwords)
    keycloak.stop()


@pytest.fixture(scope="session")
def store_statement(fhir: httpx.Client) -> dict[str, Any]:
    """HAPI's CapabilityStatement (the resource types and search parameters it serves)."""
    statement: dict[str, Any] = fhir.get("/metadata").json()
    return statement


@pytest.fixture
def call(hapi: HapiServer, demo: DemoLoad, tmp_path: Path) -> Iterator[Gateway]:
    """The gateway in-process on the session's HAPI with the demo loaded; its own audit trail."""
    gateway = Gateway(hapi.settings.with_changes(data_dir=tmp_path))
    yield gateway
    gateway.close()


@pytest.fixture
def client(fhir: httpx.Client, demo: DemoLoad) -> Client:
    """A fresh copy of the demo client's data, so that a test's writes touch only its own."""
    return copy_demo_client(fhir)


@pytest.fixture(scope="module")
def served(hapi: HapiServer, demo: DemoLoad, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a gateway served by uvicorn on loopback in front of the session's HAPI, with
    the demo systems registered and its own data directory (trail, keys) for this module."""
    yield from serve_gateway(hapi.settings.with_changes(data_dir=tmp_path_factory.mktemp("gateway-data")))


def serve_gateway(settings: Settings, port: int | None = None) -> Iterator[Settings]:
    """Serve the gateway of `settings` on `port` (else a free one) as `yhteys gateway serve` does, until resumed."""
    settings = settings.with_changes(gateway_port=port or free_port())
    ensure_demo_clients(settings.gateway_dir)
    ensure_demo_pki(settings)
    server = uvicorn.Server(server_config(settings, build_gateway(settings).app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    yield settings
    server.should_exit = True
    thread.join(timeout=30)
