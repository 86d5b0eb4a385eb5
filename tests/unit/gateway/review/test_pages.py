"""The audit pages: the client's access report and the auditor's console, read as HTML.

Events are the real BALP events (`gateway.audit.balp.events_of`) of real `AuditRecord`s,
numbered as the store numbers them and handed over newest first, as the store's search does.
Pages are parsed with the standard library's HTMLParser into a small tree, so assertions are
about elements and attributes, not about substrings of markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from gateway.access.policy import load_policy
from gateway.access.reasons import CITED_CONSENT, ReasonCatalogue
from gateway.access.seam import Effect, Reason
from gateway.audit import Anonymous, AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.balp import events_of
from gateway.audit.verify import Verdict
from gateway.fhir.codes import Sector
from gateway.fhir.systems import CONSENT_RULE_BASE
from gateway.review.names import Named, Names
from gateway.review.pages import LANGUAGES, render_console, render_report
from gateway.review.paging import Window

SERVER = "http://gateway.test/fhir"
CLIENT = "Patient/demo-client"
SCRIPT = "<script>alert('x')</script>"
YOUTH = Caller("youth-system", "Organization/demo-org-youth-services", "municipal-youth-services",
               "PractitionerRole/demo-role-youth-worker", "TREAT", "jti-youth")  # fmt: skip
CURATOR_BTG = Caller("school-welfare-system", "Organization/demo-org-school-welfare", "school-welfare",
                     "PractitionerRole/demo-role-curator", "BTG", "jti-btg",
                     btg_reason=f"pupil in acute crisis {SCRIPT}")  # fmt: skip
HIDDEN = Reason("label-hidden", "https://yhteys.fi/fhir/policy/rule/psy-hidden", "piilotettu", "dold", "hidden")
BTG_RULE = Reason(
    "btg", "https://yhteys.fi/fhir/policy/rule/break-the-glass", "hätäkäyttö", "nödåtkomst", "break the glass"
)


def _record(n: int, caller: Caller | Anonymous, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = dict(
        request_id=f"req-{n}", recorded_at=datetime(2026, 11, 22, 12, n, 0, tzinfo=UTC), caller=caller,
        method="GET", path="/fhir/CarePlan/demo-plan", query="", interaction="read", resource_type="CarePlan",
        patients=(CLIENT,), effect=Effect.PERMIT, reasons=(), status=200, outcome=AuditOutcome.SUCCESS,
        resource_id="demo-plan", source_address="127.0.0.1",
    )  # fmt: skip
    values.update(fields)
    return AuditRecord(**values)


RECORDS = [
    # 1. the youth worker reads the plan
    _record(1, YOUTH, disclosed=(Disclosed("CarePlan/demo-plan/_history/3", CLIENT),)),
    # 2. the youth worker tries the psychiatric goal: hidden (404), a refusal
    _record(2, YOUTH, path="/fhir/Goal/demo-goal-wellbeing", resource_type="Goal", resource_id="demo-goal-wellbeing",
            effect=Effect.DENY, reasons=(HIDDEN,), status=404, outcome=AuditOutcome.DENIED),
    # 3. the curator breaks the glass for it
    _record(3, CURATOR_BTG, path="/fhir/Goal/demo-goal-wellbeing", resource_type="Goal",
            resource_id="demo-goal-wellbeing", reasons=(BTG_RULE,),
            disclosed=(Disclosed("Goal/demo-goal-wellbeing/_history/1", CLIENT),)),
    # 4. a search whose query string carries markup, by the youth worker, in summer time
    _record(4, YOUTH, recorded_at=datetime(2026, 7, 1, 9, 30, 0, tzinfo=UTC), path="/fhir/CareTeam",
            query=f"subject={CLIENT}&_text={SCRIPT}", interaction="search", resource_type="CareTeam",
            resource_id=None, disclosed=(Disclosed("CareTeam/demo-team/_history/2", CLIENT),)),
    # 5. no token at all
    _record(5, Anonymous("a bearer access token is required"), effect=Effect.DENY, status=401,
            outcome=AuditOutcome.DENIED),
]  # fmt: skip


def _stored(records: list[AuditRecord]) -> list[dict[str, Any]]:
    """The records' events numbered as the store numbers them, newest first (as search returns)."""
    events = [event for record in records for event in events_of(record, server=SERVER)]
    for seq, event in enumerate(events, start=1):
        event["id"] = str(seq)
    return events[::-1]


EVENTS = _stored(RECORDS)
REST = [e for e in EVENTS if e["type"]["code"] == "rest"]


# -- a small HTML tree ------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # own text and descendants' text, in order

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.data).split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert len(found) == 1, f"expected one <{tag} class={cls}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert tag not in _VOID, f"</{tag}> closes a void element"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node.data.append(data)


def parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements: " + ", ".join(n.tag for n in builder.stack[1:])
    assert builder.doctype.lower() == "doctype html"
    return builder.root


def body_rows(page: Node) -> list[Node]:
    return page.find("tbody").find_all("tr")


def _purpose(event: dict[str, Any]) -> str:
    purposes = event.get("purposeOfEvent", [])
    return str(purposes[0]["coding"][0]["code"]) if purposes else ""


# -- the client's report ------------------------------------------------------------------------

TITLES = {
    "fi": "Tietojesi käsittelyloki",
    "sv": "Logg över hur dina uppgifter har använts",
    "en": "Who has used your information",
}
HEADERS = {
    "fi": ["Milloin", "Kuka", "Mitä", "Miksi", "Tulos"],
    "sv": ["När", "Vem", "Vad", "Varför", "Resultat"],
    "en": ["When", "Who", "What", "Why", "Outcome"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_report_speaks_the_chosen_language(lang: str) -> None:
    page = parse(render_report(CLIENT, EVENTS, lang))
    assert page.find("html").attrs["lang"] == lang
    assert page.find("title").text == TITLES[lang]
    assert page.find("h1").text == TITLES[lang]
    assert [th.text for th in page.find("thead").find_all("th")] == HEADERS[lang]
    others = [TITLES[other] for other in LANGUAGES if other != lang]
    assert not any(title in page.find("body").text for title in others)
    links = {a.attrs["hreflang"]: a.attrs["href"] for a in page.find("nav", cls="languages").find_all("a")}
    assert links == {other: f"?_format=html&lang={other}" for other in LANGUAGES if other != lang}


def test_the_report_has_one_row_per_rest_event_and_none_for_decisions() -> None:
    assert len(EVENTS) > len(REST) == len(RECORDS)  # AuthZ events exist, and are not rows
    rows = body_rows(parse(render_report(CLIENT, EVENTS, "en")))
    assert len(rows) == len(REST)
    assert [row.find("time").attrs["datetime"] for row in rows] == [e["recorded"] for e in REST]


def test_a_report_row_says_when_who_what_why_and_how_it_ended() -> None:
    rows = body_rows(parse(render_report(CLIENT, EVENTS, "fi")))
    read = rows[-1]  # the oldest: the youth worker's read of the plan, 12:01 UTC in November
    when, who, what, why, outcome = (cell.text for cell in read.find_all("td"))
    assert when == "22.11.2026 klo 14.01.00"  # EET, UTC+2
    assert "Organisaatio: Organization/demo-org-youth-services (kunnan nuorisopalvelut)" in who  # no name known
    assert "PractitionerRole/demo-role-youth-worker" in who
    assert "youth-system" in who
    assert what == "Luku suunnitelma CarePlan/demo-plan/_history/3"
    assert why == "Asiakkaan hoito tai palvelu"
    assert outcome == "onnistui"
    assert read.classes == set()
    search = next(row for row in rows if "CareTeam/demo-team" in row.text)
    assert search.find("time").text == "1.7.2026 klo 12.30.00"  # EEST, UTC+3
    assert search.find_all("td")[2].text == "Haku työryhmä CareTeam/demo-team/_history/2"


def test_the_report_marks_refusals_and_break_the_glass_with_its_reason() -> None:
    rows = body_rows(parse(render_report(CLIENT, EVENTS, "sv")))
    refused = [row for row in rows if "denied" in row.classes]
    assert len(refused) == 2  # the hidden goal, and the attempt with no token
    assert all(row.find_all("td")[4].text == "NEKAD" for row in refused)
    assert "Goal/demo-goal-wellbeing" in refused[-1].text
    assert (
        refused[0].find_all("td")[1].text.startswith("Organisation: okänd Yrkesperson (roll): oidentifierad användare")
    )
    (btg,) = [row for row in rows if "btg" in row.classes]
    why = btg.find_all("td")[3]
    assert why.find("span", cls="flag-btg").text == "NÖDÅTKOMST"
    assert why.find("q").text == f"pupil in acute crisis {SCRIPT}"
    assert "Organization/demo-org-school-welfare" in btg.text
    assert "denied" not in btg.classes


def test_the_report_shows_no_other_clients_query() -> None:
    both = _record(9, YOUTH, path="/fhir/Goal", query="subject=Patient/demo-client,Patient/someone-else",
                   interaction="search", resource_type="Goal", resource_id=None,
                   patients=(CLIENT, "Patient/someone-else"))  # fmt: skip
    events = _stored([both])
    mine = [e for e in events if any(x.get("what", {}).get("reference") == CLIENT for x in e["entity"])]
    page = render_report(CLIENT, mine, "en")
    assert "someone-else" not in page
    assert body_rows(parse(page))[0].find_all("td")[2].text == "Search: goal"


def test_an_empty_report_says_so() -> None:
    page = parse(render_report(CLIENT, [], "fi"))
    assert page.find_all("table") == []
    assert page.find("p", cls="empty").text == "Tietojasi ei ole käsitelty tämän palvelun kautta."


# -- the auditor's console ----------------------------------------------------------------------


def test_console_rows_are_highlighted_exactly_when_denied_or_break_the_glass() -> None:
    rows = body_rows(parse(render_console(EVENTS, {}, Verdict(len(EVENTS), 1), "en")))
    assert [row.attrs["data-seq"] for row in rows] == [e["id"] for e in EVENTS]  # every event, AuthZ too
    denied = {e["id"] for e in EVENTS if e["outcome"] != "0"}
    btg = {e["id"] for e in EVENTS if _purpose(e) == "BTG"}
    assert denied and btg and denied != btg
    assert {row.attrs["data-seq"] for row in rows if "denied" in row.classes} == denied
    assert {row.attrs["data-seq"] for row in rows if "btg" in row.classes} == btg
    assert all(row.classes <= {"denied", "btg"} for row in rows)


def test_a_console_row_carries_the_auditors_columns() -> None:
    page = parse(render_console(EVENTS, {}, Verdict(len(EVENTS), 1), "en"))
    headers = [th.text for th in page.find("thead").find_all("th")]
    assert headers == [
        "#",
        "Time",
        "Client",
        "Professional",
        "Organisation",
        "System",
        "Interaction",
        "Outcome",
        "Purpose",
        "Reasons",
    ]
    hidden = next(row for row in body_rows(page) if row.attrs["data-seq"] == "2")  # the REST event of record 2
    cells = [cell.text for cell in hidden.find_all("td")]
    assert cells[1:7] == [
        "2026-11-22 14:02:00", CLIENT, "PractitionerRole/demo-role-youth-worker",
        "Organization/demo-org-youth-services municipal youth services: municipal-youth-services", "youth-system",
        "read Goal/demo-goal-wellbeing",
    ]  # fmt: skip
    assert cells[7] == "4 refused"
    assert cells[8] == "TREAT"
    assert (
        cells[9] == "HTTP 404 https://yhteys.fi/fhir/policy/rule/psy-hidden Rule ids Reason codes: label-hidden "
        "https://yhteys.fi/fhir/policy/rule/psy-hidden"
    )  # a rule no catalogue knows: its id stands for its text
    decision = next(row for row in body_rows(page) if row.attrs["data-seq"] == "3")  # its AuthZ event
    assert decision.find_all("td")[6].text == "access decision (roles) (AuthZ-Role)"


@pytest.mark.parametrize(
    ("lang", "ok", "broken"),
    [
        ("en", "Chain verified: 12 records, 3 checkpoints", "Chain BROKEN at record 7: record 7 does not match its hash"),
        ("fi", "Ketju tarkistettu: 12 tietuetta, 3 allekirjoitettua tarkistuspistettä",
         "Ketju RIKKI tietueessa 7: record 7 does not match its hash"),
        ("sv", "Kedjan verifierad: 12 poster, 3 signerade kontrollpunkter",
         "Kedjan BRUTEN vid post 7: record 7 does not match its hash"),
    ],
)  # fmt: skip
def test_the_chain_banner_tells_verified_from_broken(lang: str, ok: str, broken: str) -> None:
    good = parse(render_console(EVENTS, {}, Verdict(12, 3), lang))
    assert good.find(cls="chain-ok").text == ok
    assert good.find_all(cls="chain-broken") == []
    bad = parse(render_console(EVENTS, {}, Verdict(6, 0, 7, "record 7 does not match its hash"), lang))
    assert bad.find(cls="chain-broken").text == broken
    assert bad.find_all(cls="chain-ok") == []
    assert bad.find("html").attrs["lang"] == lang


def test_the_console_form_is_a_get_form_filled_with_the_current_filters() -> None:
    filters = {"patient": CLIENT, "agent": "PractitionerRole/demo-role-curator", "outcome": "4", "purpose": "BTG",
               "sector": "school-welfare", "to_date": "2026-11-30", "lang": "sv"}  # fmt: skip
    page = parse(render_console(EVENTS, filters, Verdict(1, 0), "sv"))
    form = page.find("form")
    assert form.attrs["method"] == "get"
    inputs = [(i.attrs["name"], i.attrs.get("type", "text"), i.attrs["value"]) for i in form.find_all("input")]
    assert inputs == [
        ("patient", "text", CLIENT), ("agent", "text", "PractitionerRole/demo-role-curator"),
        ("organization", "text", ""), ("client", "text", ""), ("sector", "text", "school-welfare"),
        ("from_date", "date", ""), ("to_date", "date", "2026-11-30"),
    ]  # fmt: skip
    sectors = {o.attrs["value"]: o.text for o in page.find("datalist").find_all("option")}
    assert sectors["school-welfare"] == "elevhälsa" and set(sectors) == {str(s) for s in Sector}
    assert all(label and label != code for code, label in sectors.items())  # every sector translated
    chosen = {
        s.attrs["name"]: [o.attrs["value"] for o in s.find_all("option") if "selected" in o.attrs]
        for s in form.find_all("select")
    }
    assert chosen == {"outcome": ["4"], "purpose": ["BTG"], "lang": ["sv"]}
    assert "Dagarna anges i finsk tid" in form.find("p", cls="hint").text


def test_nothing_from_events_or_filters_becomes_markup() -> None:
    attack = '"><script>alert(1)</script><input name="patient" value="'
    filters = {"patient": attack, "agent": "' onmouseover='alert(2)", "from_date": f"2026{SCRIPT}", "outcome": SCRIPT}
    for page_text in (
        render_console(EVENTS, filters, Verdict(1, 0, 1, SCRIPT), "en"),
        render_report(attack, EVENTS, "fi"),
    ):
        page = parse(page_text)
        assert page.find_all("script") == []
        assert not any(name.startswith("on") for node in page.walk() for name in node.attrs)
    console = parse(render_console(EVENTS, filters, Verdict(1, 0, 1, SCRIPT), "en"))
    values = {i.attrs["name"]: i.attrs["value"] for i in console.find_all("input")}
    assert values["patient"] == attack and values["agent"] == "' onmouseover='alert(2)"  # exactly as typed, as text
    assert values["from_date"] == f"2026{SCRIPT}"
    assert len(console.find_all("input")) == 7  # no input smuggled in
    assert SCRIPT in console.find(cls="chain-broken").text
    search = next(row for row in body_rows(console) if "CareTeam/demo-team" in row.text)
    assert f"/fhir/CareTeam?subject={CLIENT}&_text={SCRIPT}" in search.text  # the query, decoded, as text
    btg = next(row for row in body_rows(console) if "btg" in row.classes)
    assert btg.find("q").text == f"pupil in acute crisis {SCRIPT}"
    report = render_report(attack, EVENTS, "fi")
    assert "&lt;script&gt;" in report and "<script" not in report


def test_an_empty_console_says_so() -> None:
    page = parse(render_console([], {"patient": "Patient/nobody"}, Verdict(0, 0), "fi"))
    assert page.find_all("table") == []
    assert page.find("p", cls="empty").text == "Ei tapahtumia näillä rajauksilla."


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="lang must be one of fi, sv, en"):
        render_report(CLIENT, EVENTS, "de")
    with pytest.raises(ValueError, match="lang must be one of fi, sv, en"):
        render_console(EVENTS, {}, Verdict(0, 0), "<b>")


# -- names and reasons ------------------------------------------------------------------------

CATALOGUE = ReasonCatalogue.of(load_policy().policy)
PSY_HIDDEN = next(r for r in load_policy().policy.hidden.values() if r.code == "psy-hidden-by-default")
CONSENT_PERMITS = Reason("consent-permits", f"{CONSENT_RULE_BASE}Consent/demo-consent", "sallii", "tillåter", "permits")
NAMES = Names(
    {
        "PractitionerRole/demo-role-youth-worker": Named(
            "Tuomas Väisänen", ("Nuorisotyöntekijä", "Ungdomsarbetare", "Youth worker")
        ),
        "Organization/demo-org-youth-services": Named(f"Demo kaupunki {SCRIPT}"),
    },
    {"youth-system": "Nuorisopalvelujen asiakasjärjestelmä (demo)"},
)
REASONED = _stored(
    [
        _record(1, YOUTH, path="/fhir/Goal/demo-goal-wellbeing", resource_type="Goal", resource_id="demo-goal-wellbeing",
                effect=Effect.DENY, reasons=(PSY_HIDDEN, CONSENT_PERMITS), status=404, outcome=AuditOutcome.DENIED),
    ]
)  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "title", "psy"),
    [
        ("fi", "Nuorisotyöntekijä", "Psykiatrinen tieto (PSY) on piilotettu"),
        ("sv", "Ungdomsarbetare", "Psykiatriska uppgifter (PSY) döljs"),
        ("en", "Youth worker", "Psychiatric information (PSY) is hidden"),
    ],
)
def test_the_console_names_who_acted_and_gives_reasons_in_its_language(lang: str, title: str, psy: str) -> None:
    page = parse(render_console(REASONED, {}, Verdict(2, 0), lang, NAMES, CATALOGUE))
    rest = next(row for row in body_rows(page) if row.find_all("td")[6].text.startswith(("luku", "läsning", "read")))
    cells = rest.find_all("td")
    assert cells[3].find("span", cls="title").text == title
    assert cells[3].text == f"Tuomas Väisänen, {title} PractitionerRole/demo-role-youth-worker"
    assert cells[3].find("small").text == "PractitionerRole/demo-role-youth-worker"  # the reference, beside
    assert cells[4].text.startswith(f"Demo kaupunki {SCRIPT} Organization/demo-org-youth-services")  # as text
    assert cells[5].text == "Nuorisopalvelujen asiakasjärjestelmä (demo) youth-system"
    reasons = [item.text for item in cells[9].find("ul", cls="reasons").find_all("li")]
    assert reasons[0].startswith(psy)
    assert reasons[1] == f"{CITED_CONSENT[LANGUAGES.index(lang)]} Consent/demo-consent"
    rules = cells[9].find("details", cls="rules")  # the rule ids on demand, no script
    assert rules.find("summary").text in ("Sääntötunnukset", "Regel-id:n", "Rule ids")
    assert [li.text for li in rules.find("ul").find_all("li")] == [PSY_HIDDEN.rule, CONSENT_PERMITS.rule]
    assert "psy-hidden-by-default, consent-permits" in rules.text
    assert cells[9].text.startswith("HTTP 404 ")
    assert page.find_all("script") == []


def test_the_report_names_who_acted_and_why_in_the_clients_language() -> None:
    page = parse(render_report(CLIENT, REASONED, "sv", NAMES, CATALOGUE))
    (row,) = body_rows(page)
    who, why = row.find_all("td")[1], row.find_all("td")[3]
    assert "Yrkesperson (roll): Tuomas Väisänen, Ungdomsarbetare PractitionerRole/demo-role-youth-worker" in who.text
    assert f"Organisation: Demo kaupunki {SCRIPT} (kommunens ungdomstjänster) Organization/" in who.text
    assert "System: Nuorisopalvelujen asiakasjärjestelmä (demo) youth-system" in who.text
    assert why.find("ul", cls="reasons").find_all("li")[0].text.startswith("Psykiatriska uppgifter (PSY) döljs")
    assert why.find("details", cls="rules").find("summary").text == "Regel-id:n"


def test_the_console_links_to_the_pages_around_it_keeping_its_filters() -> None:
    window = Window(first=9, last=8, shown=2, newer=3, older=4)
    pairs = [("patient", CLIENT), ("date", "ge2026-11-01"), ("date", "le2026-11-30"), ("lang", "en")]
    page = parse(render_console(EVENTS[:2], pairs, Verdict(9, 1), "en", window=window))
    navs = page.find_all("nav", cls="pages")
    assert len(navs) == 2  # above and below the table
    assert navs[0].find("span", cls="position").text == "Events 4–5 of 9, newest first."
    links = {a.attrs["rel"]: a.attrs["href"] for a in navs[0].find_all("a")}
    assert links == {
        "prev": "?patient=Patient%2Fdemo-client&date=ge2026-11-01&date=le2026-11-30&lang=en&_after=9",
        "next": "?patient=Patient%2Fdemo-client&date=ge2026-11-01&date=le2026-11-30&lang=en&_before=8",
    }
    last = parse(render_console(EVENTS[:2], pairs, Verdict(9, 1), "en", window=Window(9, 8, 2, 3, 0)))
    assert [a.attrs["rel"] for a in last.find_all("nav", cls="pages")[0].find_all("a")] == ["prev"]


def test_an_empty_page_past_the_end_links_back() -> None:
    page = parse(
        render_console([], [("lang", "en"), ("_before", "5")], Verdict(9, 1), "en", window=Window(4, 4, 0, 7, 0))
    )
    assert page.find("p", cls="empty").text == "No events match these filters."
    nav = page.find("nav", cls="pages")
    assert nav.find_all("span", cls="position") == []
    assert [(a.attrs["rel"], a.attrs["href"]) for a in nav.find_all("a")] == [("prev", "?lang=en&_after=4")]
