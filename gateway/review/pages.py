"""The audit trail as pages people read: the client's access report and the auditor's console.

`render_report(patient, events, lang)` is the client's right to see who accessed their data:
one row per REST event (BALP type `rest`; the AuthZ decision events pair with them and are not
rows) saying when, who (organisation, professional, system), what (the interaction and the
parts of the plan disclosed or asked for), why (purpose of use; break-the-glass marked, with
its reason) and how it ended (refused attempts included, marked).

`render_console(events, filters, verdict, lang)` is the auditor's page: a GET form over the
audit search parameters, filled in from `filters` (the request's query parameters), the chain
status from `verdict`, and every event given, with refusals and failures (outcome 4, 8, 12) in
rows of class `denied` and break-the-glass (purpose BTG) in rows of class `btg`.

Both are pure and take events as `gateway.audit.balp.events_of` makes them (with the id the
store gives); a field an event lacks shows as unknown rather than failing the page. `lang` is
one of `LANGUAGES` (else `ValueError`; callers validate it first). Templates are jinja2 with
autoescaping on for every template, so nothing an event or a filter carries — query strings,
reasons, ids — becomes markup. Times are shown in Europe/Helsinki.

The client report shows no raw query strings: a search naming several clients would show this
client the others' ids. The console, for auditors, shows them decoded.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.audit.verify import Verdict
from gateway.fhir.codes import Sector
from gateway.fhir.systems import CLIENT_ID_SYSTEM
from gateway.templates import page_templates

__all__ = ["LANGUAGES", "render_console", "render_report"]

LANGUAGES = ("fi", "sv", "en")

_HELSINKI = ZoneInfo("Europe/Helsinki")
_JTI = "urn:ietf:params:oauth:jti:"
_REST = "rest"
_BTG = "BTG"
_PROVIDER_CODE = "PROV"
_PATIENT_ROLE, _DOMAIN_RESOURCE, _SECURITY_RESOURCE, _QUERY_ROLE = "1", "4", "13", "24"

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
    "report_count": ("Kirjauksia: {n}", "Antal poster: {n}", "Entries: {n}"),
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
    "f_date_from": ("Alkaen", "Från", "From"),
    "f_date_to": ("Asti", "Till", "To"),
    "f_date_hint": (
        "Päivät muodossa ge2026-11-01 (alkaen) ja le2026-11-30 (asti).",
        "Datum i formen ge2026-11-01 (från) och le2026-11-30 (till).",
        "Dates as ge2026-11-01 (from) and le2026-11-30 (to).",
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
    "shown": ("{n} tapahtumaa, uusin ensin.", "{n} händelser, nyaste först.", "{n} events, newest first."),
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
_UPPER_BOUNDS = ("le", "lt")  # date prefixes of the "to" input; any other value goes to "from"
_PURPOSES = ("TREAT", "CAREMGT", "BTG")


@dataclass(frozen=True)
class _Part:
    """A resource an event names: its translated kind and its reference."""

    label: str
    reference: str


@dataclass(frozen=True)
class _Row:
    """One event, read for display (texts already translated; the template escapes them)."""

    seq: str
    iso: str
    local: str
    rest: bool
    patient: str
    professional: str
    organization: str
    sector: str
    sector_label: str
    system: str
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


def render_report(patient: str, events: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The client's access report on `patient` ("Patient/<id>") from their audit events, as a
    complete HTML page in `lang`; only REST events become rows, in the order given."""
    texts = _texts(lang)
    rows = [row for row in (_row_of(event, texts, lang) for event in events) if row.rest]
    return _environment.get_template("report.html").render(
        lang=lang,
        t=texts,
        patient=patient,
        rows=rows,
        count=texts["report_count"].format(n=len(rows)),
        languages=[(code, _LANGUAGE_NAMES[code]) for code in LANGUAGES],
    )


def render_console(
    events: Sequence[Mapping[str, Any]],
    filters: Mapping[str, str] | Sequence[tuple[str, str]],
    verdict: Verdict,
    lang: str,
) -> str:
    """The auditor's console in `lang`: the filter form filled from `filters` (the request's query
    parameters, as given), the chain status of `verdict`, and `events` as rows in the order given.

    `filters` may be the parameters' (name, value) pairs: only then can both `date` bounds be
    shown again (a dict keeps one of them)."""
    texts = _texts(lang)
    rows = [_row_of(event, texts, lang) for event in events]
    pairs = list(filters.items()) if isinstance(filters, Mapping) else list(filters)
    chosen = dict(pairs)  # the last value of each
    dates = [value for name, value in pairs if name == "date"]
    date_from = next((value for value in dates if value[:2] not in _UPPER_BOUNDS), "")
    date_to = next((value for value in dates if value[:2] in _UPPER_BOUNDS), "")
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
        shown=texts["shown"].format(n=len(rows)),
        value={name: chosen.get(name, "") for name in ("patient", "agent", "organization", "client", "sector")},
        date_from=date_from,
        date_to=date_to,
        sectors=[_Option(str(sector), texts.get(f"sector.{sector}", str(sector)), False) for sector in Sector],
        outcomes=_options(
            _OUTCOMES, chosen.get("outcome", ""), lambda code: f"{code} — {texts['outcome.' + code]}", texts
        ),
        purposes=_options(
            _PURPOSES, chosen.get("purpose", ""), lambda code: f"{code} — {texts['purpose.' + code]}", texts
        ),
        languages=[_Option(code, _LANGUAGE_NAMES[code], code == lang) for code in LANGUAGES],
    )


_LANGUAGE_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}


def _texts(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    index = LANGUAGES.index(lang)
    return {key: values[index] for key, values in _TEXTS.items()}


def _options(codes: Sequence[str], chosen: str, label: Callable[[str], str], texts: Mapping[str, str]) -> list[_Option]:
    return [_Option("", texts["any"], chosen == ""), *(_Option(code, label(code), code == chosen) for code in codes)]


# -- reading an event -------------------------------------------------------------------------


def _row_of(event: Mapping[str, Any], texts: Mapping[str, str], lang: str) -> _Row:
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
    return _Row(
        seq=str(event.get("id", "")),
        iso=recorded,
        local=_local_time(recorded, lang),
        rest=_code(event.get("type")) == _REST,
        patient=next((_reference(e) for e in entities if _code(e.get("role")) == _PATIENT_ROLE), ""),
        professional=_reference(user) or (texts["anonymous"] if user else unknown),
        organization=_reference(organization) or unknown,
        sector=sector,
        sector_label=texts.get(f"sector.{sector}", sector),
        system=str(_who(client).get("identifier", {}).get("value", "")) or unknown,
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
        description=str(event.get("outcomeDesc", "")),
        rules=tuple(str(p) for p in user.get("policy", []) if isinstance(p, str) and not p.startswith(_JTI)),
    )


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


def _local_time(recorded: str, lang: str) -> str:
    try:
        moment = datetime.fromisoformat(recorded)
    except ValueError:
        return recorded
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(_HELSINKI)
    if lang == "en":
        return f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{local.day}.{local.month}.{local.year} {'klo' if lang == 'fi' else 'kl.'} {local:%H.%M.%S}"


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
