"""What the browser-login tests share: the gateway with login at the session's Keycloak, a fresh
browser context per test, and logging in through Keycloak's own form.

A test module takes the fixtures with `from tests.e2e.login_harness import site as site` (and
`context as context`); every such module's gateway listens on the one port the realm expects,
one module at a time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

from auth.config import TOKEN_PATH
from gateway.demo import DemoLoad
from gateway.demo.clients import demo_token
from gateway.login.keycloak import DEMO_PEOPLE
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.e2e.conftest import Provider, serve_gateway

__all__ = ["IDLE", "audit_events", "context", "log_in", "log_in_person", "serious_violations", "site"]

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


def log_in_person(page: Page, site: Settings, provider: Provider, hetu: str, path: str = "/me") -> None:
    """Log in as the person of `hetu`, with an account made for them now, and open `path` in English."""
    username, password = f"person-{secrets.token_hex(6)}", secrets.token_urlsafe(12)
    provider.keycloak.add_person(username, password, "Aino", "Kopio", {"hetu": hetu})
    page.goto(f"{site.gateway_origin}/login?next={path}%3Flang%3Den")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_url(f"{site.gateway_origin}{path}*")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on `page` (rule id and the first target)."""
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['nodes'][0]['target'] if v['nodes'] else ''}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def audit_events(site: Settings, patient: str) -> list[dict[str, Any]]:
    """The trail's events on `patient`, as the demo auditor's system searches them (newest 500)."""
    auditor = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "audit-console")
    bundle = httpx.get(
        f"{site.gateway_origin}/audit/AuditEvent",
        params={"patient": patient, "_count": "500"},
        headers={"Authorization": f"Bearer {auditor}"},
        timeout=60,
    ).json()
    return [entry["resource"] for entry in bundle.get("entry", [])]
