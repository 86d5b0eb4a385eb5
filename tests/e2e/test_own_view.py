"""The client's own pages in real Chromium: she logs in at Keycloak as a citizen and sees her plan,
her goals in her own words, her team with her personal worker and how to reach them, and who
has used her information — a refused attempt included — in Finnish, Swedish and English;
each page checked with axe-core (no serious or critical violations) and recorded in the trail
with her as the user. Nobody else opens her pages. Each test is a private copy of the demo client
(her own henkilötunnus) with a Keycloak account of her own.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import BrowserContext

from auth.config import TOKEN_PATH
from gateway.demo.clients import demo_token
from gateway.settings import Settings
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.e2e.browser import colours, png_size
from tests.e2e.conftest import Provider
from tests.e2e.gateway_harness import Client
from tests.e2e.login_harness import audit_events, log_in, log_in_person, serious_violations
from tests.e2e.login_harness import context as context  # the fixtures
from tests.e2e.login_harness import site as site

PERSONAL_WORKER_BACKGROUND = (0xEE, 0xF4, 0xFA)  # .card.personal-worker, the plan page's CSS


def test_she_sees_her_plan_goals_and_team(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_person(page, site, identity_provider, client.hetu)
    page.goto(f"{site.gateway_origin}/me?lang=en")
    assert serious_violations(page) == []
    page.click("a[href^='/me/plan']")
    assert page.locator("h1").inner_text() == "My plan"
    assert page.locator(".plan h2").inner_text() == "Ainon yhteinen asiakassuunnitelma"
    goals = page.locator(".goal blockquote").all_inner_texts()
    assert "Haluan suorittaa ensimmäisen opiskeluvuoden loppuun." in goals
    assert len(goals) == 3 and page.locator(".goal .tag").count() == 3  # all three in her own words
    first = page.locator(".member").first
    assert "personal-worker" in (first.get_attribute("class") or "")
    assert first.locator(".member-name").inner_text() == "Minna Korhonen"
    assert first.locator("a[href^='tel:']").inner_text() == "+358 40 000 0102"
    assert first.locator("a[href^='mailto:']").count() == 1
    shot = page.screenshot(full_page=True)
    width, height = png_size(shot)
    assert width == 1280 and height > 800  # the whole page, no sideways scrolling
    assert PERSONAL_WORKER_BACKGROUND in colours(shot)  # her personal worker's card stands out
    names = page.locator(".member-name").all_inner_texts()
    assert "Laura Heikkinen" in names  # the curator, still in her team (her personal-worker spell ended)
    assert serious_violations(page) == []
    for lang, title in (("fi", "Oma suunnitelmani"), ("sv", "Min plan")):
        page.goto(f"{site.gateway_origin}/me/plan?lang={lang}")
        assert page.locator("h1").inner_text() == title
        assert page.locator("html").get_attribute("lang") == lang
        assert serious_violations(page) == []


def test_her_report_shows_a_refused_attempt_on_her(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    youth = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "youth-system")
    refused = httpx.get(
        f"{site.gateway_origin}/fhir/Condition?subject={client.ref('client')}",
        headers={"Authorization": f"Bearer {youth}", "Accept": "application/fhir+json"},
        timeout=60,
    )
    assert refused.status_code == 403
    page = context.new_page()
    log_in_person(page, site, identity_provider, client.hetu, "/me/report")
    page.goto(f"{site.gateway_origin}/me/report?lang=fi")
    assert page.locator("h1").inner_text() == "Tietojesi käsittelyloki"
    assert page.locator("tr.denied").count() >= 1
    assert serious_violations(page) == []
    page.goto(f"{site.gateway_origin}/me/report?lang=en")
    assert page.locator("h1").inner_text() == "Who has used your information"


def test_her_own_reads_are_recorded_with_her_as_the_user(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_person(page, site, identity_provider, client.hetu, "/me/plan")
    her = client.ref("client")
    events = audit_events(site, her)
    hers = [
        event
        for event in events
        for agent in event["agent"]
        if agent.get("requestor") and agent.get("who", {}).get("reference") == her
    ]
    shown = [e for e in hers if any(x.get("what", {}).get("reference") == client.ref("plan") for x in e["entity"])]
    assert shown, "her reading her plan is recorded, with the plan she was shown"
    user = next(a for a in shown[0]["agent"] if a.get("requestor"))
    assert user["purposeOfUse"][0]["coding"][0]["code"] == "PATRQT"
    assert not [a for a in shown[0]["agent"] if a.get("type", {}).get("coding", [{}])[0].get("code") == "PROV"]


def test_nobody_else_opens_her_pages(site: Settings, identity_provider: Provider, context: BrowserContext) -> None:
    """An auditor is a professional: no page of a client's is theirs."""
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor")
    assert page.locator("a[href^='/me/plan']").count() == 0
    for path in ("/me/plan", "/me/report", "/me/consents"):
        answer = page.goto(f"{site.gateway_origin}{path}")
        assert answer is not None and answer.status == 401
        assert page.locator("h1").inner_text() == "Kirjaudu sisään"


def test_the_demo_guardian_sees_the_minors_page(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    """The demo guardian acts for the demo minor (who has no plan yet), never for the young person."""
    page = context.new_page()
    log_in(page, site, identity_provider, "guardian", "/me/plan")
    assert page.locator(".plan").count() == 0 and page.locator(".goal").count() == 0
    assert "Ainon" not in page.content()
    assert serious_violations(page) == []


def test_her_pages_need_her_session(site: Settings) -> None:
    for path in ("/me/plan", "/me/report"):
        assert httpx.get(f"{site.gateway_origin}{path}", timeout=30).status_code == 401
        auditor = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "audit-console")
        answer = httpx.get(f"{site.gateway_origin}{path}", headers={"Authorization": f"Bearer {auditor}"}, timeout=30)
        assert answer.status_code == 401  # a token never opens a citizen's page
