"""The audit pages in a real browser: the auditor's console and the client's report in headless
Chromium, served by the running gateway in front of the session's HAPI.

The gateway (`gateway.app.assembly.build_gateway`) listens on a free loopback port; the demo systems
get their tokens from its token endpoint; a few FHIR requests through it fill the audit trail
(an allowed read, a hidden goal refused, a break-the-glass read); then Chromium opens the pages
with the auditor's bearer token and the test reads them as a person would: the elements, their
computed colours, and a full-page screenshot decoded with the standard library.

The browser and the PNG reading are `tests.e2e.browser`'s (shared with the document pages):
Debian's Chromium at /usr/bin/chromium and the Python `playwright` package (the `test` extra);
no browser is downloaded, and Chromium is kept off the network.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page

from auth.config import TOKEN_PATH
from gateway.demo.clients import demo_token
from gateway.fhir.systems import POLICY_RULE_BASE
from gateway.settings import Settings
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.e2e.browser import colours, near, png_size

CLIENT = "Patient/demo-client"
BTG_REASON = "Pupil in acute crisis at school; the psychiatric goal is needed now."
YOUTH_WORKER_ROLE = "PractitionerRole/demo-role-youth-worker"
PSY_HIDDEN_EN = "Psychiatric information (PSY) is hidden from your role"
PSY_HIDDEN_FI = "Psykiatrinen tieto (PSY) on piilotettu roolisi käyttäjiltä"
DENIED_BACKGROUND = (0xFD, 0xE0, 0xE0)  # tr.denied td, the console's CSS
BTG_BACKGROUND = (0xFF, 0xF0, 0xC2)  # tr.btg td


@pytest.fixture(scope="module")
def trail(served: Settings) -> Settings:
    """The gateway after the requests the console must show: allowed, refused, break-the-glass."""
    youth = token(served, "youth-system")
    assert fhir_get(served, youth, "CarePlan/demo-plan").status_code == 200
    assert fhir_get(served, youth, "Goal/demo-goal-wellbeing").status_code == 404  # hidden: refused, audited as denied
    btg = token(served, "school-welfare-system", purpose="BTG", btg_reason=BTG_REASON)
    assert fhir_get(served, btg, "Goal/demo-goal-wellbeing").status_code == 200
    return served


def token(settings: Settings, system: str, **kwargs: str) -> str:
    return demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", system, **kwargs)


def fhir_get(settings: Settings, bearer: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/fhir+json"}
    return httpx.get(f"{settings.gateway_origin}/fhir/{path}", headers=headers, timeout=60.0)


def open_page(browser: Browser, settings: Settings, bearer: str, path: str, **params: str) -> tuple[Page, int]:
    """A page at `path` opened with `bearer`, and the HTTP status it was answered with."""
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {bearer}"}, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    response = page.goto(f"{settings.gateway_origin}{path}?{urlencode(params)}")
    assert response is not None
    return page, response.status


def background(page: Page, selector: str) -> tuple[int, int, int]:
    """The computed background colour (RGB) of the first element `selector` matches."""
    css = page.locator(selector).first.evaluate("element => getComputedStyle(element).backgroundColor")
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", str(css))
    assert match, css
    red, green, blue = (int(part) for part in match.groups())
    return red, green, blue


# -- the tests ---------------------------------------------------------------------------------------


def test_the_console_shows_the_verified_chain_refusals_and_break_the_glass(
    trail: Settings, browser: Browser, tmp_path: Path
) -> None:
    auditor = token(trail, "audit-console")
    page, status = open_page(browser, trail, auditor, "/audit/console", patient=CLIENT, lang="en")
    assert status == 200
    assert page.locator("html").get_attribute("lang") == "en"
    banner = page.locator(".chain-ok").inner_text()
    match = re.fullmatch(r"Chain verified: (\d+) records, (\d+) checkpoints", banner.strip())
    assert match and int(match[1]) >= 4, banner
    assert page.locator(".chain-broken").count() == 0

    hidden = page.locator("tr.denied", has_text="Goal/demo-goal-wellbeing")  # the REST event of the refusal
    assert hidden.count() == 1
    assert "youth-system" in hidden.inner_text() and "HTTP 404" in hidden.inner_text()
    assert page.locator("tr.denied", has_text="AuthZ").count() >= 1  # and its access decision
    btg = page.locator("tr.btg", has_text="Goal/demo-goal-wellbeing")
    assert btg.count() == 1
    assert BTG_REASON in btg.inner_text() and "school-welfare-system" in btg.inner_text()
    allowed = page.locator("tr:not(.denied):not(.btg)", has_text="CarePlan/demo-plan")
    assert allowed.count() >= 1

    # names, not references, read from the store and the client registry; the references beside them
    cells = hidden.locator("td")
    assert cells.nth(3).inner_text().split() == [*"Tuomas Väisänen, Youth worker".split(), YOUTH_WORKER_ROLE]
    assert cells.nth(4).inner_text().startswith("Demo kaupunki, nuorisopalvelut")
    assert cells.nth(5).inner_text().split("\n")[0].startswith("Nuorisopalvelujen asiakasjärjestelmä (demo)")
    # the reasons in the page's language; their rule ids only on demand
    reasons = cells.nth(9)
    assert PSY_HIDDEN_EN in reasons.locator("ul.reasons").inner_text()
    rule = reasons.locator("details.rules li", has_text="psy-hidden-by-default")
    assert not rule.is_visible()
    reasons.locator("details.rules summary").click()
    assert rule.is_visible() and rule.inner_text() == f"{POLICY_RULE_BASE}psy-hidden-by-default"
    assert background(page, "tr.denied td") == DENIED_BACKGROUND  # visibly red-tinted, as rendered
    assert background(page, "tr.btg:not(.denied) td") == BTG_BACKGROUND  # visibly amber

    shot = tmp_path / "console.png"
    shot.write_bytes(page.screenshot(full_page=True))
    data = shot.read_bytes()
    width, height = png_size(data)
    assert width == 1280 and 400 <= height <= 20000, (width, height)
    palette = colours(data)
    assert len(palette) > 20, "the screenshot is (nearly) blank"
    assert near(DENIED_BACKGROUND, palette) and near(BTG_BACKGROUND, palette)
    page.context.close()


def test_the_client_report_in_finnish_names_who_accessed_the_plan(
    trail: Settings, browser: Browser, tmp_path: Path
) -> None:
    auditor = token(trail, "audit-console")
    page, status = open_page(browser, trail, auditor, "/audit/report/Patient/demo-client", _format="html", lang="fi")
    assert status == 200
    assert page.locator("html").get_attribute("lang") == "fi"
    assert page.title() == "Tietojesi käsittelyloki"
    text = page.locator("body").inner_text()
    assert "Sinulla on oikeus saada nämä tiedot" in text
    youth = page.locator("tbody tr", has_text="Organization/demo-org-youth-services")
    assert youth.count() >= 2  # the plan read, and the refused goal
    assert "CarePlan/demo-plan" in text
    refused = page.locator("tbody tr.denied", has_text="Organization/demo-org-youth-services")
    assert "ESTETTY" in refused.first.inner_text()
    glass = page.locator("tbody tr.btg").first.inner_text()
    assert "HÄTÄKÄYTTÖ" in glass and BTG_REASON in glass and "Organization/demo-org-school-welfare" in glass
    assert "Laura Heikkinen, Opiskeluhuollon kuraattori" in glass  # the curator, by name and title
    assert "Demo hyvinvointialue, opiskeluhuolto" in glass and "Opiskeluhuollon asiakasjärjestelmä (demo)" in glass
    who = refused.first.locator("td").nth(1).inner_text()
    assert "Tuomas Väisänen, Nuorisotyöntekijä" in who and "Demo kaupunki, nuorisopalvelut" in who
    assert PSY_HIDDEN_FI in refused.first.locator("ul.reasons").inner_text()  # why, in Finnish
    shot = tmp_path / "report.png"
    shot.write_bytes(page.screenshot(full_page=True))
    assert len(colours(shot.read_bytes())) > 20
    page.context.close()


def test_a_clinician_is_refused_the_console_and_the_refusal_is_in_the_trail(trail: Settings, browser: Browser) -> None:
    youth = token(trail, "youth-system")
    page, status = open_page(browser, trail, youth, "/audit/console", patient=CLIENT)
    assert status == 403
    assert "forbidden" in page.locator("body").inner_text()  # the OperationOutcome, not the console
    assert page.locator("tr").count() == 0 and "demo-goal" not in page.content()
    page.context.close()

    auditor = token(trail, "audit-console")
    page, status = open_page(browser, trail, auditor, "/audit/console", client="youth-system", outcome="4", lang="en")
    assert status == 200
    refusal = page.locator("tr.denied", has_text="/audit/console")
    assert refusal.count() >= 1
    row = refusal.first.inner_text()
    assert "PractitionerRole/demo-role-youth-worker" in row and "HTTP 403" in row
    page.context.close()


def test_the_console_and_the_report_page_through_every_event(trail: Settings, browser: Browser) -> None:
    auditor = token(trail, "audit-console")
    for path, params, older, key in (
        ("/audit/console", {"patient": CLIENT, "lang": "en", "_count": "2"}, "Older →", ("tbody tr", "data-seq")),
        ("/audit/report/Patient/demo-client", {"_format": "html", "lang": "sv", "_count": "2"}, "Äldre →",
         ("tbody tr time", "datetime")),
    ):  # fmt: skip
        page, status = open_page(browser, trail, auditor, path, **params)
        assert status == 200
        assert page.locator("nav.pages a[rel=prev]").count() == 0  # the newest page
        position = page.locator("nav.pages .position").first.inner_text()
        total = int(re.findall(r"\d+", position)[-1])
        assert total > 2, position
        seen = keys(page, *key)
        assert len(seen) == 2
        while page.locator("nav.pages a[rel=next]").count():
            with page.expect_navigation() as navigation:
                page.locator("nav.pages a[rel=next]", has_text=older).first.click()
            assert navigation.value is not None and navigation.value.status == 200
            assert page.locator("html").get_attribute("lang") == params["lang"]
            assert page.locator("nav.pages a[rel=prev]").count() == 2  # above and below the table
            rows = keys(page, *key)
            assert 1 <= len(rows) <= 2
            seen += rows
        assert len(seen) == total  # every event up to the first page's newest, however many came since
        order = [int(k) if k.isdigit() else k for k in seen]  # seqs (console), or recorded instants (report)
        assert order == sorted(set(order), reverse=True)  # newest first, none twice
        page.context.close()


def keys(page: Page, selector: str, attribute: str) -> list[str]:
    """What tells a page's rows apart (an event's seq, or its recorded instant), in order."""
    return [str(element.get_attribute(attribute)) for element in page.locator(selector).all()]


def test_the_filter_form_submits_without_javascript(trail: Settings, browser: Browser) -> None:
    auditor = token(trail, "audit-console")
    page, status = open_page(browser, trail, auditor, "/audit/console", patient=CLIENT, lang="en")
    assert status == 200
    page.select_option("select[name=outcome]", "4")
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    response = navigation.value
    assert response is not None and response.status == 200, response and response.text()[:300]
    rows = page.locator("tbody tr")
    assert rows.count() >= 1 and rows.count() == page.locator("tbody tr.denied").count()
    assert page.locator("input[name=patient]").input_value() == CLIENT

    today = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()  # the Helsinki day of the traffic
    for day, found in ((today, True), ("2026-01-01", False)):
        page.fill("input[name=from_date]", day)
        page.fill("input[name=to_date]", day)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.locator("input[name=from_date]").input_value() == day
        assert (page.locator("tbody tr.denied").count() >= 1) is found
        assert (page.locator("p.empty").count() == 1) is not found
    page.context.close()
