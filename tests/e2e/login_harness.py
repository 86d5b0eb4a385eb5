"""What the browser-login tests share: the gateway with login at the session's Keycloak, a fresh
browser context per test, and logging in through Keycloak's own form.

A test module takes the fixtures with `from tests.e2e.login_harness import site as site` (and
`context as context`); every such module's gateway listens on the one port the realm expects,
one module at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from gateway.demo import DemoLoad
from gateway.login.keycloak import DEMO_PEOPLE
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.e2e.conftest import Provider, serve_gateway

__all__ = ["IDLE", "context", "log_in", "site"]

IDLE = 12  # seconds without a request before a session ends, in this module's gateway


@pytest.fixture(scope="module")
def site(
    hapi: HapiServer, demo: DemoLoad, identity_provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The gateway with login at the session's Keycloak, on the port the realm expects."""
    settings = identity_provider.gateway_settings(
        hapi.settings.with_changes(data_dir=tmp_path_factory.mktemp("login-gateway"), session_idle=IDLE)
    )
    yield from serve_gateway(settings, identity_provider.gateway_port)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def log_in(page: Page, site: Settings, provider: Provider, who: str, path: str = "/me") -> None:
    """Open `path` through the login as demo person `who` (auditor, client, guardian)."""
    page.goto(f"{site.gateway_origin}/login?next={path}&lang=en")
    assert page.url.startswith(provider.keycloak.issuer), page.url  # Keycloak's own login form
    page.fill("#username", DEMO_PEOPLE[who])
    page.fill("#password", provider.passwords[who])
    page.click("#kc-login")
    page.wait_for_url(f"{site.gateway_origin}{path}*")
