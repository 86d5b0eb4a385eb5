"""Signed plan documents as pages in a real browser: `render_html` in headless Chromium.

Each page is of a real document: composed (`gateway.documents.compose`) from the demo as its
recipient sees it (`tests.unit.gateway.documents.demo_documents.seen`), signed with a key of a
demo CA made in the test's folder (`gateway.signing.pki`), verified with `verify_bundle`, and
rendered with the status that verification gave. Chromium opens the page with `set_content` (no
server, no network: every request the page would make is refused and recorded) and the tests read
it as a person would: the title, who issued it, when, which version, the signature banner's words
and its colour as the screenshot's pixels show it, the sections' titles; a full-page screenshot
per page is decoded as a PNG (`tests.e2e.browser`). Needs no HAPI and no gateway.

The pages: the youth worker's (the recipient of `REQUEST`, who sees no PSY, ETH, SOC or R data)
in Finnish and, as version 2, in Swedish; the client's own, in Finnish; a copy with one byte
changed after signing (the banner says it is not valid, and why); and a document whose goal and
narrative carry script (`<script>`, `onerror`), shown as text and never run.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Route

from gateway.demo.clients import DEMO_CLIENTS
from gateway.documents.compose import compose
from gateway.documents.render import Audience, SignatureStatus, render_html
from gateway.documents.structure import relative_reference
from gateway.fhir.labels import ETH, PSY, SOC, Label, R
from gateway.signing.bundle import sign_bundle, verify_bundle
from gateway.signing.jades import SignatureInvalid
from gateway.signing.pki import KeyRing, SigningKey, TrustStore, new_ca
from tests.e2e.browser import Colour, colours, near, pixel, png_size
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.unit.gateway.documents.demo_documents import REQUEST, seen

__all__: list[str] = []

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
ISSUER = "Demo hyvinvointialue, lastensuojelun jälkihuolto"  # Organization/demo-org-social-welfare's name
OID = next(c.organization_oid for c in DEMO_CLIENTS if c.organization == REQUEST.issuer)
YOUTH_WORKER_HIDES = frozenset({PSY, ETH, SOC, R})
VALID_BACKGROUND = (0xE4, 0xF3, 0xE1)  # .signature-valid, the template's CSS
INVALID_BACKGROUND = (0xFD, 0xE0, 0xE0)  # .signature-invalid
HOSTILE_GOAL = (
    'Opiskelen <script>window.ran = "goal script"</script>'
    '<img src="x" onerror="window.ran = \'goal onerror\'"> loppuun.'
)
HOSTILE_NARRATIVE = (
    '<div xmlns="http://www.w3.org/1999/xhtml"><ul><li>Aino <script>window.ran = "narrative script"</script>'
    '<img src="x" onerror="window.ran = \'narrative onerror\'"/><b>Kallio</b></li></ul></div>'
)


@dataclass(frozen=True)
class Signing:
    """The issuer's signing key and what a verifier trusts: a demo CA made for the test."""

    key: SigningKey
    trust: TrustStore


@dataclass(frozen=True)
class Seen:
    """One page as Chromium rendered it, with its full-page screenshot and the network requests it tried."""

    page: Page
    screenshot: bytes
    requests: list[str]


Opener = Callable[[str, str], Seen]
"""`pages(html, name)`: the page `html` opened in Chromium, its screenshot saved as `<name>.png`."""


@pytest.fixture
def signing(tmp_path: Path) -> Signing:
    """A demo CA and the issuing organisation's key, certified by it, in the key ring under `tmp_path`."""
    ca = new_ca("Yhteys demo CA (test)", NOW - timedelta(days=30))
    key = KeyRing(tmp_path / "keys").rotate(REQUEST.issuer, OID, ca, NOW - timedelta(days=1))  # as the demo PKI does
    return Signing(key, TrustStore([ca.certificate]))


@pytest.fixture
def pages(browser: Browser, tmp_path: Path) -> Iterator[Opener]:
    """Open an HTML page in a fresh context (1280 × 800, no network) and screenshot it whole."""
    contexts = []

    def open_html(html: str, name: str) -> Seen:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        requests: list[str] = []

        def refuse(route: Route) -> None:
            requests.append(route.request.url)
            route.abort()

        context.route("**/*", refuse)
        page = context.new_page()
        page.set_content(html, wait_until="load")
        shot = tmp_path / f"{name}.png"
        shot.write_bytes(page.screenshot(full_page=True))
        return Seen(page, shot.read_bytes(), requests)

    yield open_html
    for context in contexts:
        context.close()


def document(hidden: frozenset[Label], language: str = "fi", version: int = 1) -> dict[str, Any]:
    """The plan document of `REQUEST` as a recipient who may not see `hidden` sees it, unsigned."""
    request = replace(REQUEST, language=language, version=version, replaces=REQUEST.identifier if version > 1 else None)
    return compose(request, copy.deepcopy(seen(hidden)))


def signature_status(bundle: dict[str, Any], trust: TrustStore) -> SignatureStatus:
    """What verifying `bundle` says: valid and the name of the Organization `Bundle.signature.who`
    references (`verify_bundle` proved the certificate is that organisation's, by its OID), or why not."""
    try:
        verify_bundle(bundle, trust, NOW)
    except SignatureInvalid as exc:
        return SignatureStatus(False, str(exc))
    who = relative_reference(str(bundle["signature"]["who"]["reference"]))
    names = [
        str(e["resource"]["name"])
        for e in bundle["entry"]
        if f"{e['resource']['resourceType']}/{e['resource'].get('id')}" == who
    ]
    assert len(names) == 1, who
    return SignatureStatus(True, names[0])


def signed(bundle: dict[str, Any], signing: Signing) -> dict[str, Any]:
    return sign_bundle(bundle, signing.key, REQUEST.issuer, OID, NOW)


def meta(page: Page, term: str) -> str:
    """The value the page gives beside the term `term` (Laatija, Versio, …)."""
    return page.locator("dl.meta dt", has_text=term).locator("xpath=following-sibling::dd[1]").inner_text()


def section(page: Page, title: str) -> Locator:
    """The section headed `title` (exactly)."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=title, exact=True))


def banner(seen_page: Seen) -> tuple[str, Colour]:
    """The signature banner's words, and its background as the screenshot shows it (inside the
    padding, left of the words, in the middle of its height)."""
    status = seen_page.page.get_by_role("status")
    assert status.count() == 1
    box = status.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 10, box
    return status.inner_text().strip(), pixel(
        seen_page.screenshot, int(box["x"]) + 5, int(box["y"] + box["height"] / 2)
    )


def assert_a_real_screenshot(data: bytes) -> None:
    width, height = png_size(data)
    assert width == 1280 and 800 <= height <= 20000, (width, height)  # the viewport's width, the whole page
    assert len(colours(data)) > 20, "the screenshot is (nearly) blank"


PAGES = [
    pytest.param(
        "professional", "fi", YOUTH_WORKER_HIDES, 1,
        "Yhteinen asiakassuunnitelma", ("Laatija", "Päivätty", "Versio"),
        "Allekirjoitus on kelvollinen: allekirjoittaja Demo hyvinvointialue, lastensuojelun jälkihuolto.",
        ["Asiakas", "Tavoitteet", "Toimenpiteet: Lastensuojelu", "Toimenpiteet: Kunnan nuorisopalvelut",
         "Toimenpiteet: Opiskeluhuolto", "Omatiimi", "Omatyöntekijä", "Voimassa olevat suostumukset"],
        id="youth-worker-fi",
    ),
    pytest.param(
        "professional", "sv", YOUTH_WORKER_HIDES, 2,
        "Gemensam klientplan", ("Upprättad av", "Daterad", "Version"),
        "Signaturen är giltig: undertecknad av Demo hyvinvointialue, lastensuojelun jälkihuolto.",
        ["Klient", "Mål", "Åtgärder: Barnskydd", "Åtgärder: Kommunens ungdomstjänster", "Åtgärder: Studerandevård",
         "Team", "Egen kontaktperson", "Gällande samtycken"],
        id="youth-worker-sv-v2",
    ),
    pytest.param(
        "client", "fi", frozenset(), 1,
        "Sinun suunnitelmasi", ("Laatija", "Päivätty", "Versio"),
        "Allekirjoitus on kelvollinen: allekirjoittaja Demo hyvinvointialue, lastensuojelun jälkihuolto.",
        ["Asiakas", "Tavoitteet", "Toimenpiteet: Lastensuojelu", "Toimenpiteet: Erikoissairaanhoidon psykiatria",
         "Toimenpiteet: Kunnan nuorisopalvelut", "Toimenpiteet: Opiskeluhuolto", "Omatiimi", "Omatyöntekijä",
         "Voimassa olevat suostumukset"],
        id="client-fi",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("audience", "language", "hidden", "version", "heading", "terms", "words", "titles"), PAGES)
def test_a_signed_document_reads_as_issued_with_a_green_valid_banner(
    pages: Opener,
    signing: Signing,
    audience: Audience,
    language: str,
    hidden: frozenset[Label],
    version: int,
    heading: str,
    terms: tuple[str, str, str],
    words: str,
    titles: list[str],
) -> None:
    bundle = signed(document(hidden, language, version), signing)
    status = signature_status(bundle, signing.trust)
    assert status == SignatureStatus(True, ISSUER)
    seen_page = pages(render_html(bundle, status, audience, language), f"{audience}-{language}")
    page = seen_page.page

    assert page.locator("html").get_attribute("lang") == language
    assert page.title() == heading and page.locator("h1").inner_text() == heading
    issuer, dated, version_term = terms
    assert meta(page, issuer) == ISSUER
    assert meta(page, dated) == "03.12.2026 12.00"  # 12.00 Helsinki time, as REQUEST dates it
    assert meta(page, version_term) == str(version)
    text, colour = banner(seen_page)
    assert text == words
    assert near(colour, {VALID_BACKGROUND}) and colour[1] > colour[0], colour  # green, as a person sees it
    assert page.locator("h2").all_inner_texts() == titles
    assert "Minna Korhonen" in section(page, titles[-2]).inner_text()  # the personal worker
    body = page.locator("body").inner_text().lower()
    assert ("psykiatr" in body) is (PSY not in hidden)  # the youth worker's page says nothing of psychiatry
    assert seen_page.requests == []
    assert_a_real_screenshot(seen_page.screenshot)


def test_a_document_changed_by_one_byte_after_signing_says_it_is_not_valid_and_why(
    pages: Opener, signing: Signing
) -> None:
    bundle = signed(document(YOUTH_WORKER_HIDES), signing)
    goals = bundle["entry"][0]["resource"]["section"][1]
    assert goals["title"] == "Tavoitteet" and "(tavoiteaika 2027-05-31)" in goals["text"]["div"]
    goals["text"]["div"] = goals["text"]["div"].replace("2027-05-31", "2027-05-30")  # one byte
    status = signature_status(bundle, signing.trust)
    assert not status.valid and "does not verify over the document's canonical form" in status.detail
    seen_page = pages(render_html(bundle, status), "tampered")

    text, colour = banner(seen_page)
    assert text == f"Allekirjoitus EI ole kelvollinen: {status.detail}"
    assert near(colour, {INVALID_BACKGROUND}) and colour[0] > colour[1], colour  # red, as a person sees it
    assert not near(colour, {VALID_BACKGROUND}, tolerance=10)
    assert seen_page.page.locator(".signature-valid").count() == 0
    assert "(tavoiteaika 2027-05-30)" in section(seen_page.page, "Tavoitteet").inner_text()
    assert_a_real_screenshot(seen_page.screenshot)


def test_script_in_a_goal_or_a_narrative_is_shown_as_text_and_never_runs(pages: Opener, signing: Signing) -> None:
    probe = pages(f"<!doctype html><p>{HOSTILE_GOAL}</p>", "probe")  # the same markup, put on a page raw
    assert probe.page.evaluate("() => window.ran") in ("goal script", "goal onerror")  # the probe sees script run

    resources = copy.deepcopy(seen(YOUTH_WORKER_HIDES))
    resources["Goal/demo-goal-studies"]["description"]["text"] = HOSTILE_GOAL
    bundle = compose(REQUEST, resources)
    bundle["entry"][0]["resource"]["section"][0]["text"]["div"] = HOSTILE_NARRATIVE  # as a foreign document may
    bundle = signed(bundle, signing)
    status = signature_status(bundle, signing.trust)
    assert status.valid  # a valid signature vouches for the issuer, not for harmless markup
    seen_page = pages(render_html(bundle, status), "hostile")
    page = seen_page.page

    assert page.evaluate("() => window.ran") is None  # neither script nor onerror ran
    assert page.locator("main script, main img").count() == 0 and page.locator("script").count() == 0
    goals = section(page, "Tavoitteet").locator("li").all_inner_texts()
    assert f"{HOSTILE_GOAL} (tavoiteaika 2027-05-31)" in goals  # the goal's words, markup and all, as written
    client = section(page, "Asiakas").locator("li").inner_text()
    assert re.fullmatch(r'Aino window\.ran = "narrative script"\s*Kallio', client), client  # markup gone, words kept
    assert seen_page.requests == []
    text, colour = banner(seen_page)
    assert text.startswith("Allekirjoitus on kelvollinen") and near(colour, {VALID_BACKGROUND})
    assert_a_real_screenshot(seen_page.screenshot)
