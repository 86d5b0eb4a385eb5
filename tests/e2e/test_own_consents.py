"""The client withdraws and gives her consent herself, in real Chromium, and the organisation's
very next request is decided on it.

A private copy of the demo client (her own henkilötunnus) gets a Keycloak account of her own, so
her changes touch nobody else's data. The youth services (outside the county: they need her
consent) read her plan; she withdraws their consent on her page; their next read is refused;
she gives it again and they read again. A form without her session's CSRF token changes
nothing. Her change is in the audit trail with her as the user.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page

from auth.config import TOKEN_PATH
from gateway.demo.clients import demo_token
from gateway.settings import Settings
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.e2e.conftest import Provider
from tests.e2e.gateway_harness import Client
from tests.e2e.login_harness import context as context  # the fixtures
from tests.e2e.login_harness import site as site

YOUTH = "Organization/demo-org-youth-services"


def youth_reads_her_plan(site: Settings, client: Client) -> int:
    token = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "youth-system")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    return httpx.get(f"{site.gateway_origin}/fhir/{client.ref('plan')}", headers=headers, timeout=60).status_code


def log_in_as(page: Page, site: Settings, provider: Provider, client: Client) -> None:
    """Log in as the copy's own person (an account made for it now)."""
    username, password = f"client-{client.prefix}", secrets.token_urlsafe(12)
    provider.keycloak.add_person(username, password, "Aino", "Kopio", {"hetu": client.hetu})
    page.goto(f"{site.gateway_origin}/login?next=/me/consents%3Flang%3Den")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_url(f"{site.gateway_origin}/me/consents*")


def serious(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [str(v["id"]) for v in violations if v.get("impact") in ("serious", "critical")]


def test_a_withdrawal_applies_to_the_next_request_and_a_new_consent_too(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    assert youth_reads_her_plan(site, client) == 200
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    assert page.locator("h1").inner_text() == "My consents"
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 1
    assert serious(page) == []

    page.click(f"table.shared tr[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=withdraw")
    assert page.locator(".done").inner_text() == "The consent is withdrawn."
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 0
    assert youth_reads_her_plan(site, client) != 200  # their very next request

    page.click(f"ul.offered li[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=grant")
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 1
    assert youth_reads_her_plan(site, client) == 200
    assert serious(page) == []


def test_a_consent_form_without_her_csrf_token_changes_nothing(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    forms: list[dict[str, str | float | bool]] = [
        {"action": "withdraw", "organization": YOUTH, "csrf": "forged"},
        {"action": "withdraw", "organization": YOUTH},
    ]
    for form in forms:
        answer = page.request.post(f"{site.gateway_origin}/me/consents", form=form, max_redirects=0)
        assert answer.status == 403
    assert youth_reads_her_plan(site, client) == 200
    auditor = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "audit-console")
    bundle = httpx.get(
        f"{site.gateway_origin}/audit/AuditEvent?patient={client.ref('client')}&_count=500",
        headers={"Authorization": f"Bearer {auditor}"},
        timeout=60,
    ).json()
    events: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"]]
    refused = [
        e
        for e in events
        if e.get("outcome") == "4"
        and any(a.get("requestor") and a["who"].get("reference") == client.ref("client") for a in e["agent"])
    ]
    assert len(refused) >= 2, "each forged form is recorded as refused, with her as the user"


def test_her_withdrawal_is_recorded_with_her_as_the_user(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    page.click(f"table.shared tr[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=withdraw")
    auditor = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "audit-console")
    bundle = httpx.get(
        f"{site.gateway_origin}/audit/AuditEvent?patient={client.ref('client')}&_count=500",
        headers={"Authorization": f"Bearer {auditor}"},
        timeout=60,
    ).json()
    intended = [
        e["resource"]
        for e in bundle["entry"]
        if "outcome" not in e["resource"] and f"PUT {client.ref('consent')}" in e["resource"].get("outcomeDesc", "")
    ]
    assert intended, "the write was recorded before it was sent"
    user = next(a for a in intended[0]["agent"] if a.get("requestor"))
    assert user["who"]["reference"] == client.ref("client")
