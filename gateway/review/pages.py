"""The audit trail as pages people read: the client's access report and the auditor's console.

`render_report(patient, events, lang, names, reasons, params, window)` is the client's right to
see who accessed their data: one row per REST event (BALP type `rest`; the AuthZ decision events
pair with them and are not rows) saying when, who (organisation, professional, system), what (the
interaction and the parts of the plan disclosed or asked for), why (purpose of use, the reasons;
break-the-glass marked, with its reason) and how it ended (refused attempts included, marked),
with a form for local days and links to the other languages (the same page) and pages.

`render_console(events, filters, verdict, lang, names, reasons, window)` is the auditor's page: a
GET form over the audit search parameters, filled in from `filters` (the request's query
parameters), the chain status from `verdict`, and every event given, with refusals and failures
(outcome 4, 8, 12) in rows of class `denied` and break-the-glass (purpose BTG) in rows of class
`btg`, and links to the next and the previous page.

Both are pure and take events as `gateway.audit.balp.events_of` makes them (with the id the
store gives); a field an event lacks shows as unknown rather than failing the page. `lang` is
one of `LANGUAGES` (else `ValueError`; callers validate it first). People, organisations and
systems are shown by name where `names` has one (their title and sector beside), the reference
itself always beside it (auditors search by it), and alone where `names` has none; each reason
is its text in `lang` from `reasons` (a consent's names it), the rule ids and the event's
reason codes in a `<details>` element (no script needed). `window` is where the events lie among
all matches ("events X–Y of N", the links); without one, the events are all there is.
`references_of(event)` lists what the page would like named. Templates are jinja2 with
autoescaping on for every template, so nothing an event, a name or a filter carries — query
strings, reasons, ids — becomes markup. Times are shown in Europe/Helsinki
(`gateway.review.helsinki`).

The client report shows no raw query strings: a search naming several clients would show this
client the others' ids. The console, for auditors, shows them decoded.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.access.reasons import ReasonCatalogue, UnknownRule
from gateway.audit.verify import Verdict
from gateway.fhir.codes import Sector
from gateway.fhir.systems import CLIENT_ID_SYSTEM
from gateway.review.helsinki import local_time
from gateway.review.names import Names
from gateway.review.paging import Window, linked
from gateway.templates import LANGUAGE_NAMES, LANGUAGES, page_templates, translated

__all__ = ["LANGUAGES", "references_of", "render_console", "render_report"]


_JTI = "urn:ietf:params:oauth:jti:"
_REST = "rest"
_BTG = "BTG"
_PROVIDER_CODE = "PROV"
_PATIENT_ROLE, _DOMAIN_RESOURCE, _SECURITY_RESOURCE, _QUERY_ROLE = "1", "4", "13", "24"
_REASON_CODES = "; reasons: "  # how `outcomeDesc` lists the reason codes (gateway.audit.balp)
_NO_NAMES = Names()
_NO_REASONS = ReasonCatalogue(())

_environment = page_templates("gateway.review")

# Every text in fi, sv, en. Keys with a dot name a coded value: outcome.<code>, purpose.<code>,
# interaction.<subtype code>, sector.<sector code>, type.<resource type>.
_TEXTS: dict[str, tuple[str, str, str]] = {
    "time_note": (
        "Ajat ovat Suomen aikaa.",
        "Tiderna anges i finsk tid.",
        "Times are Finnish time (Europe/Helsinki).",
    ),
    "unknown": ("ei tiedossa", "okänd", "unknown"),
    "anonymous": ("tunnistamaton käyttäjä", "oidentifierad användare", "unidentified user"),
    "languages": ("Kieli", "Språk", "Language"),
    # -- the client's report
    "report_title": (
        "Tietojesi käsittelyloki",
        "Logg över hur dina uppgifter har använts",
        "Who has used your information",
    ),
    "report_intro": (
        "Tästä näet, kuka on katsonut, hakenut tai muuttanut suunnitelmaasi ja siihen liittyviä tietoja: "
        "milloin, mistä organisaatiosta, minkä järjestelmän kautta ja mihin tarkoitukseen. "
        "Myös estetyt yritykset näkyvät. Sinulla on oikeus saada nämä tiedot.",
        "Här ser du vem som har läst, sökt eller ändrat din plan och uppgifterna som hör till den: "
        "när, från vilken organisation, via vilket system och i vilket syfte. "
        "Också försök som stoppades syns. Du har rätt att få de här uppgifterna.",
        "This shows who has viewed, searched or changed your plan and the information linked to it: "
        "when, from which organisation, through which system and for what purpose. "
        "Attempts that were refused are listed too. You have the right to receive this information.",
    ),
    "report_btg_note": (
        "Hätäkäyttö tarkoittaa, että ammattilainen on avannut tietoja kiireellisessä tilanteessa tavallisen "
        "käyttöoikeutensa ulkopuolelta. Hänen on kirjattava syy, ja jokainen hätäkäyttö nostetaan valvojien tarkastettavaksi.",
        "Nödåtkomst betyder att en yrkesperson har öppnat uppgifter i ett brådskande läge utanför sin vanliga "
        "behörighet. Hen måste ange ett skäl, och varje nödåtkomst lyfts fram för granskarna.",
        "Break the glass means that a professional opened information in an urgent situation beyond their usual "
        "access. They must give a reason, and every such access is flagged for the auditors to review.",
    ),
    "report_contact": (
        "Jos jokin käyttö näyttää aiheettomalta, ota yhteyttä hyvinvointialueesi tietosuojavastaavaan.",
        "Om någon åtkomst verkar obefogad, kontakta dataskyddsombudet i ditt välfärdsområde.",
        "If any access looks unjustified, contact the data protection officer of your wellbeing services county.",
    ),
    "report_client": ("Asiakas", "Klient", "Client"),
    "report_position": (
        "Kirjaukset {start}–{end} / {total}, uusin ensin",
        "Poster {start}–{end} av {total}, nyaste först",
        "Entries {start}–{end} of {total}, newest first",
    ),
    "report_days": ("Näytä päivät", "Visa dagarna", "Show the days"),
    "report_empty": (
        "Tietojasi ei ole käsitelty tämän palvelun kautta.",
        "Dina uppgifter har inte använts via den här tjänsten.",
        "Your information has not been accessed through this service.",
    ),
    "col_when": ("Milloin", "När", "When"),
    "col_who": ("Kuka", "Vem", "Who"),
    "col_what": ("Mitä", "Vad", "What"),
    "col_why": ("Miksi", "Varför", "Why"),
    "col_outcome": ("Tulos", "Resultat", "Outcome"),
    "who_organization": ("Organisaatio", "Organisation", "Organisation"),
    "who_professional": ("Ammattilainen (rooli)", "Yrkesperson (roll)", "Professional (role)"),
    "who_system": ("Järjestelmä", "System", "System"),
    "btg_flag": ("HÄTÄKÄYTTÖ", "NÖDÅTKOMST", "BREAK THE GLASS"),
    "btg_reason": ("Syy", "Skäl", "Reason"),
    "refused_flag": ("ESTETTY", "NEKAD", "REFUSED"),
    "audit_trail": ("lokitiedot", "loggdata", "the access log"),
    # -- the auditor's console
    "console_title": ("Lokitietojen valvonta", "Granskning av loggdata", "Audit console"),
    "filters": ("Rajaukset", "Filter", "Filters"),
    "f_patient": ("Asiakas (Patient)", "Klient (Patient)", "Client (Patient)"),
    "f_agent": (
        "Ammattilainen (PractitionerRole)",
        "Yrkesperson (PractitionerRole)",
        "Professional (PractitionerRole)",
    ),
    "f_organization": ("Organisaatio (Organization)", "Organisation (Organization)", "Organisation (Organization)"),
    "f_client": ("Järjestelmä (client id)", "System (client id)", "System (client id)"),
    "f_sector": ("Sektori", "Sektor", "Sector"),
    "f_outcome": ("Tulos", "Resultat", "Outcome"),
    "f_purpose": ("Käyttötarkoitus", "Ändamål", "Purpose"),
    "f_date_from": ("Alkaen (päivä)", "Från (dag)", "From (day)"),
    "f_date_to": ("Asti (päivä)", "Till (dag)", "To (day)"),
    "f_date_hint": (
        "Päivät ovat Suomen aikaa, ja kumpikin rajapäivä kuuluu hakuun kokonaan.",
        "Dagarna anges i finsk tid, och båda gränsdagarna ingår i sin helhet.",
        "Days are Finnish days (Europe/Helsinki); both the first and the last day are included whole.",
    ),
    "any": ("kaikki", "alla", "any"),
    "search": ("Hae", "Sök", "Search"),
    "clear": ("Tyhjennä rajaukset", "Rensa filtren", "Clear filters"),
    "chain_ok": (
        "Ketju tarkistettu: {records} tietuetta, {checkpoints} allekirjoitettua tarkistuspistettä",
        "Kedjan verifierad: {records} poster, {checkpoints} signerade kontrollpunkter",
        "Chain verified: {records} records, {checkpoints} checkpoints",
    ),
    "chain_broken": (
        "Ketju RIKKI tietueessa {at}: {problem}",
        "Kedjan BRUTEN vid post {at}: {problem}",
        "Chain BROKEN at record {at}: {problem}",
    ),
    "shown": (
        "Tapahtumat {start}–{end} / {total}, uusin ensin.",
        "Händelser {start}–{end} av {total}, nyaste först.",
        "Events {start}–{end} of {total}, newest first.",
    ),
    "pages": ("Sivut", "Sidor", "Pages"),
    "newer": ("← Uudemmat", "← Nyare", "← Newer"),
    "older": ("Vanhemmat →", "Äldre →", "Older →"),
    "rule_ids": ("Sääntötunnukset", "Regel-id:n", "Rule ids"),
    "reason_codes": ("Syykoodit", "Skälkoder", "Reason codes"),
    "legend_denied": ("estetty tai epäonnistunut", "nekad eller misslyckad", "refused or failed"),
    "legend_btg": ("hätäkäyttö", "nödåtkomst", "break the glass"),
    "none_found": (
        "Ei tapahtumia näillä rajauksilla.",
        "Inga händelser med de här filtren.",
        "No events match these filters.",
    ),
    "c_seq": ("#", "#", "#"),
    "c_time": ("Aika", "Tid", "Time"),
    "c_client": ("Asiakas", "Klient", "Client"),
    "c_professional": ("Ammattilainen", "Yrkesperson", "Professional"),
    "c_organization": ("Organisaatio", "Organisation", "Organisation"),
    "c_system": ("Järjestelmä", "System", "System"),
    "c_interaction": ("Tapahtuma", "Händelse", "Interaction"),
    "c_outcome": ("Tulos", "Resultat", "Outcome"),
    "c_purpose": ("Käyttötarkoitus", "Ändamål", "Purpose"),
    "c_reasons": ("Perusteet", "Skäl", "Reasons"),
    # -- coded values
    "outcome.0": ("onnistui", "genomförd", "succeeded"),
    "outcome.": (
        "aiottu muutos (tulos omalla rivillään)",
        "avsedd ändring (resultatet på egen rad)",
        "intended change (its outcome on its own row)",
    ),
    "outcome.4": ("estetty", "nekad", "refused"),
    "outcome.8": ("epäonnistui", "misslyckades", "failed"),
    "outcome.12": ("epäonnistui (järjestelmävirhe)", "misslyckades (systemfel)", "failed (system error)"),
    "purpose.TREAT": ("asiakkaan hoito tai palvelu", "klientens vård eller service", "the client's care or services"),
    "purpose.CAREMGT": (
        "hoidon ja palvelujen koordinointi",
        "samordning av vård och service",
        "coordination of care and services",
    ),
    "purpose.BTG": ("hätäkäyttö", "nödåtkomst", "break the glass (emergency access)"),
    "interaction.read": ("luku", "läsning", "read"),
    "interaction.110122": ("kirjautuminen", "inloggning", "login"),
    "interaction.110123": ("uloskirjautuminen", "utloggning", "logout"),
    "interaction.vread": ("aiemman version luku", "läsning av tidigare version", "read of an earlier version"),
    "interaction.search-type": ("haku", "sökning", "search"),
    "interaction.search-system": ("haku", "sökning", "search"),
    "interaction.history-instance": ("muutoshistorian luku", "läsning av historiken", "history read"),
    "interaction.create": ("lisäys", "tillägg", "create"),
    "interaction.update": ("muutos", "ändring", "update"),
    "interaction.patch": ("osittainen muutos", "delvis ändring", "partial update"),
    "interaction.delete": ("poisto", "radering", "delete"),
    "interaction.capabilities": ("palvelun kuvauksen luku", "läsning av tjänstebeskrivningen", "capabilities read"),
    "interaction.operation": ("toiminto", "operation", "operation"),
    "interaction.transaction": ("usean tiedon tallennus", "sparande av flera uppgifter", "transaction"),
    "interaction.batch": ("pyyntöerä", "grupp av förfrågningar", "batch"),
    "interaction.AuthZ-Role": ("käyttöoikeuspäätös (roolit)", "behörighetsbeslut (roller)", "access decision (roles)"),
    "interaction.AuthZ-Consent": (
        "käyttöoikeuspäätös (roolit ja suostumus)",
        "behörighetsbeslut (roller och samtycke)",
        "access decision (roles and consent)",
    ),
    "sector.municipal-youth-services": (
        "kunnan nuorisopalvelut",
        "kommunens ungdomstjänster",
        "municipal youth services",
    ),
    "sector.school-welfare": ("oppilashuolto", "elevhälsa", "school welfare"),
    "sector.social-welfare": ("sosiaalipalvelut", "socialvård", "social welfare"),
    "sector.child-protection": ("lastensuojelu", "barnskydd", "child protection"),
    "sector.hospital-psychiatry": ("sairaalan psykiatria", "sjukhuspsykiatri", "hospital psychiatry"),
    "sector.primary-health-care": ("perusterveydenhuolto", "primärvård", "primary health care"),
    "sector.housing": ("asumispalvelut", "boendetjänster", "housing services"),
    "sector.third-sector": ("järjestöt (kolmas sektori)", "organisationer (tredje sektorn)", "third sector (NGOs)"),
    "type.CarePlan": ("suunnitelma", "plan", "plan"),
    "type.Goal": ("tavoite", "mål", "goal"),
    "type.CareTeam": ("työryhmä", "team", "care team"),
    "type.Condition": ("tilanne tai tarve", "situation eller behov", "situation or need"),
    "type.Patient": ("henkilötiedot", "personuppgifter", "personal details"),
    "type.Consent": ("suostumus", "samtycke", "consent"),
    "type.Practitioner": ("ammattilaisen tiedot", "uppgifter om yrkesperson", "professional's details"),
    "type.PractitionerRole": ("ammattilaisen rooli", "yrkespersonens roll", "professional's role"),
    "type.Organization": ("organisaation tiedot", "organisationens uppgifter", "organisation's details"),
    "type.AuditEvent": ("lokitiedot", "loggdata", "the access log"),
}

_OUTCOMES = ("0", "4", "8", "12")
_PURPOSES = ("TREAT", "CAREMGT", "BTG")


@dataclass(frozen=True)
class _Part:
    """A resource an event names: its translated kind and its reference."""

    label: str
    reference: str


@dataclass(frozen=True)
class _Reason:
    """A reason as shown: its text in the page's language, and the consent it cites ("" if none)."""

    text: str
    consent: str


@dataclass(frozen=True)
class _Row:
    """One event, read for display (texts already translated; the template escapes them)."""

    seq: str
    iso: str
    local: str
    rest: bool
    patient: str
    professional: str
    professional_name: str
    professional_title: str
    organization: str
    organization_name: str
    sector: str
    sector_label: str
    system: str
    system_name: str
    interaction: str
    interaction_code: str
    parts: tuple[_Part, ...]
    query: str
    searched: str
    outcome: str
    outcome_label: str
    purpose: str
    purpose_label: str
    btg_reason: str
    description: str
    codes: str
    reasons: tuple[_Reason, ...]
    rules: tuple[str, ...]

    @property
    def denied(self) -> bool:
        """Refused or failed; an intended write (no outcome yet) is neither."""
        return self.outcome not in ("0", "")

    @property
    def btg(self) -> bool:
        return self.purpose == _BTG

    @property
    def classes(self) -> str:
        return " ".join(name for name, on in (("denied", self.denied), ("btg", self.btg)) if on)


@dataclass(frozen=True)
class _Option:
    value: str
    label: str
    selected: bool


def render_report(
    patient: str,
    events: Sequence[Mapping[str, Any]],
    lang: str,
    names: Names = _NO_NAMES,
    reasons: ReasonCatalogue = _NO_REASONS,
    params: Sequence[tuple[str, str]] = (),
    window: Window | None = None,
) -> str:
    """The client's access report on `patient` ("Patient/<id>") from their audit events, as a
    complete HTML page in `lang`; only REST events become rows, in the order given. `params`
    are the request's query parameters (the links keep them)."""
    texts = _texts(lang)
    rows = [row for row in (_row_of(event, texts, lang, names, reasons) for event in events) if row.rest]
    window = window or _whole(rows)
    chosen = dict(params)
    return _environment.get_template("report.html").render(
        lang=lang,
        t=texts,
        patient=patient,
        rows=rows,
        position=texts["report_position"].format(start=window.start, end=window.end, total=window.total),
        pages=_pages(window, params),
        from_date=chosen.get("from_date", ""),
        to_date=chosen.get("to_date", ""),
        languages=[
            (code, LANGUAGE_NAMES[code], linked(params, {"_format": "html", "lang": code})) for code in LANGUAGES
        ],
    )


def render_console(
    events: Sequence[Mapping[str, Any]],
    filters: Mapping[str, str] | Sequence[tuple[str, str]],
    verdict: Verdict,
    lang: str,
    names: Names = _NO_NAMES,
    reasons: ReasonCatalogue = _NO_REASONS,
    window: Window | None = None,
) -> str:
    """The auditor's console in `lang`: the filter form filled from `filters` (the request's query
    parameters, as given), the chain status of `verdict`, and `events` as rows in the order given.

    The page links keep every parameter of `filters` (give the query's pairs: a dict keeps one
    value of each)."""
    texts = _texts(lang)
    rows = [_row_of(event, texts, lang, names, reasons) for event in events]
    pairs = list(filters.items()) if isinstance(filters, Mapping) else list(filters)
    chosen = dict(pairs)  # the last value of each
    window = window or _whole(events)
    if verdict.ok:
        banner = texts["chain_ok"].format(records=verdict.records, checkpoints=verdict.checkpoints)
    else:
        banner = texts["chain_broken"].format(at=verdict.first_broken, problem=verdict.problem or texts["unknown"])
    return _environment.get_template("console.html").render(
        lang=lang,
        t=texts,
        rows=rows,
        chain_ok=verdict.ok,
        banner=banner,
        shown=texts["shown"].format(start=window.start, end=window.end, total=window.total),
        pages=_pages(window, pairs),
        value={
            name: chosen.get(name, "")
            for name in ("patient", "agent", "organization", "client", "sector", "from_date", "to_date")
        },
        sectors=[_Option(str(sector), texts.get(f"sector.{sector}", str(sector)), False) for sector in Sector],
        outcomes=_options(
            _OUTCOMES, chosen.get("outcome", ""), lambda code: f"{code} — {texts['outcome.' + code]}", texts
        ),
        purposes=_options(
            _PURPOSES, chosen.get("purpose", ""), lambda code: f"{code} — {texts['purpose.' + code]}", texts
        ),
        languages=[_Option(code, LANGUAGE_NAMES[code], code == lang) for code in LANGUAGES],
    )


def references_of(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The references of `event` a page shows by name: its professional's and organisation's."""
    agents = _dicts(event.get("agent"))
    return tuple(reference for agent in agents if (reference := _reference(agent)))


@dataclass(frozen=True)
class _Pages:
    """The links to the page before and the next one ("" when there is none)."""

    newer: str
    older: str


def _pages(window: Window, params: Sequence[tuple[str, str]]) -> _Pages:
    return _Pages(window.previous_query(params) or "", window.next_query(params) or "")


def _whole(shown: Sequence[object]) -> Window:
    """The window of a page whose events are all there is."""
    return Window(0, 0, len(shown), 0, 0)


def _texts(lang: str) -> dict[str, str]:
    return translated(_TEXTS, lang)


def _options(codes: Sequence[str], chosen: str, label: Callable[[str], str], texts: Mapping[str, str]) -> list[_Option]:
    return [_Option("", texts["any"], chosen == ""), *(_Option(code, label(code), code == chosen) for code in codes)]


# -- reading an event -------------------------------------------------------------------------


def _row_of(
    event: Mapping[str, Any], texts: Mapping[str, str], lang: str, names: Names, reasons: ReasonCatalogue
) -> _Row:
    agents = _dicts(event.get("agent"))
    entities = _dicts(event.get("entity"))
    user = next((a for a in agents if a.get("requestor") is True), {})
    organization = next((a for a in agents if _PROVIDER_CODE in _codes(a.get("type"))), {})
    client = next((a for a in agents if _who(a).get("identifier", {}).get("system") == CLIENT_ID_SYSTEM), {})
    purpose = _dicts(user.get("purposeOfUse"))[:1] or _dicts(event.get("purposeOfEvent"))[:1]
    purpose_code = next(iter(_codes(purpose[0])), "") if purpose else ""
    subtype = next((c.get("code", "") for c in _dicts(event.get("subtype"))), "")
    outcome = str(event.get("outcome", ""))
    recorded = str(event.get("recorded", ""))
    sector = next((c for role in _dicts(organization.get("role")) for c in _codes(role)), "")
    unknown = texts["unknown"]
    professional, organization_reference = _reference(user), _reference(organization)
    person, body = names.of(professional), names.of(organization_reference)
    system = str(_who(client).get("identifier", {}).get("value", ""))
    description = str(event.get("outcomeDesc", ""))
    summary, _, codes = description.partition(_REASON_CODES)
    rules = tuple(str(p) for p in user.get("policy", []) if isinstance(p, str) and not p.startswith(_JTI))
    return _Row(
        seq=str(event.get("id", "")),
        iso=recorded,
        local=local_time(recorded, lang),
        rest=_code(event.get("type")) == _REST,
        patient=next((_reference(e) for e in entities if _code(e.get("role")) == _PATIENT_ROLE), ""),
        professional=professional or (texts["anonymous"] if user else unknown),
        professional_name=person.name if person else "",
        professional_title=person.title_in(lang) if person else "",
        organization=organization_reference or unknown,
        organization_name=body.name if body else "",
        sector=sector,
        sector_label=texts.get(f"sector.{sector}", sector),
        system=system or unknown,
        system_name=names.system(system) if system else "",
        interaction=texts.get(f"interaction.{subtype}", subtype) or unknown,
        interaction_code=subtype,
        parts=tuple(_parts(entities, texts)),
        query=_query(entities),
        searched=_searched(_query(entities), texts),
        outcome=outcome,
        outcome_label=texts.get(f"outcome.{outcome}", outcome) or unknown,
        purpose=purpose_code,
        purpose_label=texts.get(f"purpose.{purpose_code}", purpose_code),
        btg_reason=str(purpose[0].get("text", "")) if purpose and purpose_code == _BTG else "",
        description=summary,
        codes=codes,
        reasons=tuple(_reason(reasons, rule, lang) for rule in rules),
        rules=rules,
    )


def _reason(reasons: ReasonCatalogue, rule: str, lang: str) -> _Reason:
    """`rule` as its text in `lang`; a rule the catalogue does not know as the rule id itself."""
    explained = reasons.explain(rule)
    if isinstance(explained, UnknownRule):
        return _Reason(rule, "")
    return _Reason(explained.text(lang), explained.consent)


def _parts(entities: list[dict[str, Any]], texts: Mapping[str, str]) -> list[_Part]:
    """The resources an event names: disclosed or asked for (domain resources, Consents)."""
    parts = []
    for entity in entities:
        if _code(entity.get("role")) not in (_DOMAIN_RESOURCE, _SECURITY_RESOURCE):
            continue
        what = entity.get("what")
        what = what if isinstance(what, dict) else {}
        reference = str(what.get("reference") or what.get("type") or "")
        if reference:
            kind = reference.split("/", 1)[0]
            parts.append(_Part(texts.get(f"type.{kind}", kind), reference))
    return parts


def _query(entities: list[dict[str, Any]]) -> str:
    """The decoded query of a search event ("" if none, or not decodable)."""
    for entity in entities:
        if _code(entity.get("role")) == _QUERY_ROLE and isinstance(entity.get("query"), str):
            try:
                return base64.b64decode(entity["query"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return ""
    return ""


def _searched(query: str, texts: Mapping[str, str]) -> str:
    """What a search looked for, without its parameters: the resource type's label, or the log."""
    path = query.split("?", 1)[0]
    if path.startswith("/audit/"):
        return texts["audit_trail"]
    kind = next((s for s in reversed(path.split("/")) if s[:1].isupper()), "")
    return texts.get(f"type.{kind}", kind)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _who(agent: Mapping[str, Any]) -> dict[str, Any]:
    who = agent.get("who")
    return who if isinstance(who, dict) else {}


def _reference(holder: Mapping[str, Any]) -> str:
    """`who.reference` of an agent or `what.reference` of an entity ("" if none)."""
    for key in ("who", "what"):
        inner = holder.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("reference"), str):
            return str(inner["reference"])
    return ""


def _code(value: Any) -> str:
    """The code of a Coding ("" if it is none)."""
    return str(value.get("code", "")) if isinstance(value, dict) else ""


def _codes(concept: Any) -> list[str]:
    """The codes of a CodeableConcept's codings."""
    return [str(c.get("code", "")) for c in _dicts(concept.get("coding"))] if isinstance(concept, dict) else []
