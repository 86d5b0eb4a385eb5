"""Browser login in real Chromium against a real Keycloak, HAPI and the gateway.

The session's Keycloak (`identity_provider`) runs the realm we ship with its auditor, client
and guardian; the gateway of this module is registered there as a confidential client and
people log in through Keycloak's own login form. Covered: each person's login and logout, the
auditor reaching the console through the login, a citizen kept out of it, an expired (idle)
session, a forged state, a replayed callback (state and code), a callback in another browser
than the one that started the login, a logout without the session's CSRF token, and that no
cookie ever authorises the FHIR API.
"""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext

from gateway.login.keycloak import DEMO_PEOPLE
from gateway.settings import Settings
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.e2e.conftest import Provider
from tests.e2e.login_harness import IDLE, log_in
from tests.e2e.login_harness import context as context  # the fixtures
from tests.e2e.login_harness import site as site

SESSION_JTI = "urn:ietf:params:oauth:jti:session-"


def test_the_auditor_logs_in_reaches_the_console_and_logs_out(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor", "/audit/console")
    assert page.locator("h1").inner_text() == "Lokitietojen valvonta"
    assert "chain-ok" in (page.locator(".banner").get_attribute("class") or "")
    cookie = next(c for c in context.cookies() if c["name"] == "yhteys-session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.goto(f"{site.gateway_origin}/me?lang=en")
    assert page.locator(".person-name").inner_text() == "Sari Lahtinen"
    assert page.locator("a", has_text="Audit console").count() == 1
    page.click("button[type=submit]")  # log out: here, then at Keycloak
    page.wait_for_url(f"{site.gateway_origin}/login/signed-out*")
    assert page.locator("h1").inner_text() == "Olet kirjautunut ulos"

    answer = page.goto(f"{site.gateway_origin}/audit/console?lang=en")
    assert answer is not None and answer.status == 401
    assert page.locator("a.button").get_attribute("href") == "/login?next=%2Faudit%2Fconsole%3Flang%3Den&lang=en"
    page.goto(f"{site.gateway_origin}/login?next=/me")  # the provider's session ended too: it asks again
    assert page.url.startswith(identity_provider.keycloak.issuer)
    assert page.locator("#username").count() == 1


def test_the_login_is_in_the_audit_trail_with_the_professional(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor")
    page.goto(f"{site.gateway_origin}/audit/AuditEvent?_count=500")
    bundle = page.evaluate("() => JSON.parse(document.body.innerText)")
    events = [e["resource"] for e in bundle["entry"]]
    sessions = [
        (event, user)
        for event in events
        for user in event["agent"]
        if user.get("requestor") and any(p.startswith(SESSION_JTI) for p in user.get("policy", []))
    ]
    assert sessions, "requests of a session are recorded with the session's serial"
    logins = [
        (event, user)
        for event, user in sessions
        if event["type"]["code"] == "110114" and event["subtype"][0]["code"] == "110122" and event["outcome"] == "0"
    ]
    assert logins, "the login itself is recorded, with the professional it made"
    assert {user["who"]["reference"] for _, user in logins} == {"PractitionerRole/demo-role-auditor"}


@pytest.mark.parametrize("who", ["client", "guardian"])
def test_a_citizen_logs_in_and_is_kept_out_of_the_console(
    site: Settings, identity_provider: Provider, context: BrowserContext, who: str
) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, who)
    expected = {"client": "Aino Kallio", "guardian": "Petri Kallio"}[who]
    assert page.locator(".person-name").inner_text() == expected
    answer = page.goto(f"{site.gateway_origin}/audit/console")
    assert answer is not None and answer.status == 401


def test_an_idle_session_expires(site: Settings, identity_provider: Provider, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor", "/audit/console")
    time.sleep(IDLE + 2)
    answer = page.goto(f"{site.gateway_origin}/audit/console")
    assert answer is not None and answer.status == 401
    answer = page.goto(f"{site.gateway_origin}/me")
    assert answer is not None and answer.status == 401


def test_a_forged_state_is_refused(site: Settings, identity_provider: Provider, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{site.gateway_origin}/login?next=/me")  # a login under way in this browser
    answer = page.goto(f"{site.gateway_origin}/login/callback?state=forged-state&code=forged-code")
    assert answer is not None and answer.status == 400
    assert not [c for c in context.cookies() if c["name"] == "yhteys-session"]


def test_a_replayed_callback_is_refused(site: Settings, identity_provider: Provider, context: BrowserContext) -> None:
    page = context.new_page()
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/login/callback" in r.url else None)
    log_in(page, site, identity_provider, "client")
    assert len(callbacks) == 1
    answer = page.goto(callbacks[0])  # the same state and code again, in the same browser
    assert answer is not None and answer.status == 400
    assert "state is unknown, used" in page.locator(".why").inner_text()


def test_a_callback_in_another_browser_is_refused(
    site: Settings, identity_provider: Provider, browser: Browser, context: BrowserContext
) -> None:
    """A login started in one browser and answered in another (login CSRF: the victim's browser
    gets the attacker's code) is refused: the state is not bound to that browser."""
    started = context.new_page()
    started.goto(f"{site.gateway_origin}/login?next=/me")
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(started.url)  # the same authorization request, answered in the other browser
        page.fill("#username", DEMO_PEOPLE["auditor"])
        page.fill("#password", identity_provider.passwords["auditor"])
        with page.expect_response(lambda r: "/login/callback" in r.url) as callback:
            page.click("#kc-login")
        assert callback.value.status == 400
        assert not [c for c in other.cookies() if c["name"] == "yhteys-session"]
    finally:
        other.close()


def test_a_logout_without_the_sessions_csrf_token_is_refused(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor")
    forms: list[dict[str, str | float | bool]] = [{"csrf": "guessed"}, {}]
    for form in forms:
        refused = page.request.post(f"{site.gateway_origin}/logout", form=form, max_redirects=0)
        assert refused.status == 403
    answer = page.goto(f"{site.gateway_origin}/audit/console")
    assert answer is not None and answer.status == 200  # still logged in


def test_no_cookie_authorises_the_fhir_api(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor")
    cookies = {c["name"]: c["value"] for c in context.cookies() if c["domain"] == "127.0.0.1"}
    answer = httpx.get(f"{site.gateway_origin}/fhir/CarePlan/demo-plan", cookies=cookies, timeout=30)
    assert answer.status_code == 401
    answer = httpx.get(f"{site.gateway_origin}/audit/AuditEvent", cookies=cookies, timeout=30)
    assert answer.status_code == 200  # the same cookie opens the auditor's pages and their search


def test_the_logged_in_auditor_sees_names_and_pages_through_the_console(
    site: Settings, identity_provider: Provider, context: BrowserContext
) -> None:
    """The console through a login, as an auditor uses it: the professional's name and title
    where the reference was, and older pages to the first event."""
    page = context.new_page()
    log_in(page, site, identity_provider, "auditor", "/audit/console")
    page.goto(f"{site.gateway_origin}/audit/console?lang=en&_count=2")
    assert "Sari Lahtinen" in page.locator("tbody").inner_text()  # her own logins and readings, by name
    seen = [str(row.get_attribute("data-seq")) for row in page.locator("tbody tr").all()]
    while page.locator("nav.pages a[rel=next]").count():
        page.locator("nav.pages a[rel=next]").first.click()
        page.wait_for_load_state()
        seen += [str(row.get_attribute("data-seq")) for row in page.locator("tbody tr").all()]
    assert seen[-1] == "1" and len(seen) == len(set(seen))  # down to the trail's first event, none twice
    page.goto(f"{site.gateway_origin}/audit/report/Patient/demo-client?_format=html&lang=fi")
    assert page.locator("h1").inner_text() == "Tietojesi käsittelyloki"
