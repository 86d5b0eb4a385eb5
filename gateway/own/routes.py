"""The client's own pages: her plan, her team and who has used her information.

    GET /me/plan?lang=fi     her shared plan(s), her goals in her own words, her team and her
                             personal worker with how to reach them (`gateway.own.view`)
    GET /me/report?lang=fi   the access report on her (`gateway.review.api.report_page`, paged,
                             with names and reasons): every request that touched or named her,
                             refused ones included

Only a logged-in citizen opens them (`Audience.CITIZEN_PAGES`: her browser session, never a
token): a client, or the guardian of a minor, who sees and acts as she would, unless the
minor's consents bar guardians (RestrictionParent 3 or 4, read afresh for every request:
refused with the minor's reason, and recorded so). She sees her own data and nothing else — every search is for her
own patient reference, and `own_plan` keeps only resources whose subject is she. Each request
runs in the audited frame, recorded with her as the user (BALP: the Patient as requestor,
purpose PATRQT) and with the resources the page showed her. A store that cannot answer is a
503, never a half page. Pages are in Finnish, Swedish or English, work without JavaScript,
and are never cached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from auth.principal import CitizenPrincipal
from gateway.access.consent.decider import guardian_refusals
from gateway.access.reasons import ReasonCatalogue
from gateway.access.seam import Effect
from gateway.access.subjects import patient_of
from gateway.app.bearer import Audience
from gateway.app.frame import AuditedFrame
from gateway.audit.record import Disclosed
from gateway.audit.trail import AuditTrail
from gateway.errors import BadRequest, Conflict, Forbidden, Unprocessable, UpstreamUnavailable
from gateway.fhir.codes import GUARDIAN, Sector
from gateway.fhir.ids import ORGANIZATION_REFERENCE, is_id
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import SECTOR_SYSTEM
from gateway.login.pages import language_of, message_page, page_headers
from gateway.login.sessions import SessionDoor
from gateway.own.consents import granted, sharing, withdrawn
from gateway.own.goals import MAX_TEXT, edited_goal, is_hers, new_goal
from gateway.own.view import own_plan
from gateway.review.api import report_page
from gateway.review.names import NameDirectory
from gateway.served import Attempt, Responded
from gateway.store.client import Upstream
from gateway.store.consents import read_consents
from gateway.store.search import SearchFailed, search_all
from gateway.templates import LANGUAGE_NAMES, LANGUAGES, page_templates, translated

__all__ = ["create_own_router"]

Answer = Callable[[Attempt, CitizenPrincipal, str], Awaitable[Responded]]
"""A page's work: (the attempt, she who asks, the page language) → the page."""
Written = tuple[list[dict[str, Any]], str]
"""The transaction entries a form makes (none: nothing to change), and where she goes next."""
Change = Callable[[CitizenPrincipal, Mapping[str, str], str], Awaitable[Written]]
"""What a form makes: (she who sends it, the form, the page language) → `Written`."""

_HELSINKI = ZoneInfo("Europe/Helsinki")
_log = logging.getLogger("gateway.own.routes")
_environment = page_templates("gateway.own")

_TEXTS: dict[str, tuple[str, str, str]] = {
    "title": ("Oma suunnitelmani", "Min plan", "My plan"),
    "intro": (
        "Tämä on sinun ja tiimisi yhteinen suunnitelma. Voit keskustella siitä omatyöntekijäsi kanssa.",
        "Det här är den gemensamma planen för dig och ditt team. Du kan tala om den med din egen kontaktperson.",
        "This is the plan you share with your team. You can talk it over with your personal worker.",
    ),
    "no_plan": (
        "Sinulla ei ole vielä yhteistä suunnitelmaa.",
        "Du har ännu ingen gemensam plan.",
        "You have no shared plan yet.",
    ),
    "period": ("Voimassa", "Gäller", "In force"),
    "status": ("Tila", "Status", "Status"),
    "goals": ("Tavoitteeni", "Mina mål", "My goals"),
    "no_goals": (
        "Tavoitteita ei ole vielä kirjattu.",
        "Inga mål har skrivits in ännu.",
        "No goals have been written down yet.",
    ),
    "own_words": ("omin sanoin", "med egna ord", "in my own words"),
    "due": ("Tavoiteaika", "Måldatum", "Due"),
    "team": ("Tiimini", "Mitt team", "My team"),
    "no_team": (
        "Tiimiä ei ole vielä koottu.",
        "Teamet har inte satts samman ännu.",
        "Your team has not been formed yet.",
    ),
    "personal_worker": ("Omatyöntekijä", "Egen kontaktperson", "Personal worker"),
    "reach": ("Yhteystiedot", "Kontaktuppgifter", "How to reach"),
    "phone": ("Puhelin", "Telefon", "Phone"),
    "email": ("Sähköposti", "E-post", "E-mail"),
    "no_contact": (
        "Kysy yhteystiedot palvelusta.",
        "Fråga tjänsten om kontaktuppgifterna.",
        "Ask the service for contact details.",
    ),
    "report": ("Kuka on käsitellyt tietojani", "Vem har använt mina uppgifter", "Who has used my information"),
    "back": ("Omat tietoni", "Mina uppgifter", "My details"),
    "languages": ("Kieli", "Språk", "Language"),
    "consents": ("Suostumukseni", "Mina samtycken", "My consents"),
    "consents_intro": (
        "Hyvinvointialueen ulkopuoliset palvelut, kuten kunnan nuorisopalvelut ja järjestöt, näkevät "
        "suunnitelmasi vain, jos annat siihen suostumuksen. Voit antaa sen tai perua sen milloin tahansa; "
        "peruminen koskee heti palvelun seuraavaa pyyntöä.",
        "Tjänster utanför välfärdsområdet, som kommunens ungdomstjänster och organisationer, ser din plan "
        "bara om du ger ditt samtycke. Du kan ge eller återkalla det när som helst; en återkallelse gäller "
        "genast tjänstens nästa begäran.",
        "Services outside the wellbeing services county, such as municipal youth services and NGOs, see "
        "your plan only with your consent. You can give or withdraw it at any time; a withdrawal applies "
        "to that service's very next request.",
    ),
    "shared_with": ("Jaat tietoja näille", "Du delar uppgifter med", "You share information with"),
    "nothing_shared": (
        "Et jaa tietojasi kenellekään suostumuksella.",
        "Du delar inte dina uppgifter med någon med samtycke.",
        "You share nothing with anyone by consent.",
    ),
    "what": ("Mitä", "Vad", "What"),
    "service": ("Palvelu", "Tjänst", "Service"),
    "until": ("Asti", "Till", "Until"),
    "withdraw": ("Peru suostumus", "Återkalla samtycket", "Withdraw consent"),
    "may_share": ("Voit antaa suostumuksen näille", "Du kan ge samtycke till", "You may give consent to"),
    "grant": ("Anna suostumus", "Ge samtycke", "Give consent"),
    "grant_means": (
        "Suostumus antaa palvelun nähdä suunnitelmasi, tavoitteesi ja tiimisi hoitoasi ja palvelujesi "
        "yhteensovittamista varten vuoden ajan.",
        "Samtycket låter tjänsten se din plan, dina mål och ditt team för din vård och samordningen av "
        "dina tjänster i ett år.",
        "The consent lets the service see your plan, your goals and your team, for your care and the "
        "coordination of your services, for one year.",
    ),
    "done.withdraw": ("Suostumus on peruttu.", "Samtycket har återkallats.", "The consent is withdrawn."),
    "done.grant": ("Suostumus on annettu.", "Samtycket har getts.", "The consent is given."),
    "done.nothing": ("Mikään ei muuttunut.", "Inget ändrades.", "Nothing changed."),
    "done.goal": ("Tavoite on tallennettu.", "Målet har sparats.", "The goal is saved."),
    "edit_goal": ("Muokkaa tavoitetta", "Ändra målet", "Edit the goal"),
    "new_goal": (
        "Kirjoita uusi tavoite omin sanoin",
        "Skriv ett nytt mål med egna ord",
        "Write a new goal in your own words",
    ),
    "goal_text": ("Tavoite", "Mål", "Goal"),
    "save": ("Tallenna", "Spara", "Save"),
    "add": ("Lisää tavoite", "Lägg till målet", "Add the goal"),
    "goal_note": (
        "Tiimisi näkee tavoitteesi ja käy sen läpi kanssasi. Voit muuttaa vain itse kirjoittamiasi tavoitteita.",
        "Ditt team ser ditt mål och går igenom det med dig. Du kan bara ändra mål som du själv har skrivit.",
        "Your team sees your goal and goes through it with you. You can change only goals you wrote yourself.",
    ),
    "type.CarePlan": ("suunnitelma", "plan", "plan"),
    "type.Goal": ("tavoitteet", "mål", "goals"),
    "type.CareTeam": ("tiimi", "team", "team"),
    "type.*": ("kaikki tietosi", "alla dina uppgifter", "all your information"),
    "status.active": ("voimassa", "gällande", "active"),
    "status.draft": ("luonnos", "utkast", "draft"),
    "status.on-hold": ("tauolla", "vilande", "on hold"),
    "status.completed": ("valmis", "slutförd", "completed"),
    "status.proposed": ("ehdotettu", "föreslagen", "proposed"),
    "status.planned": ("suunniteltu", "planerad", "planned"),
    "status.accepted": ("hyväksytty", "godkänd", "accepted"),
    "status.cancelled": ("peruttu", "avbruten", "cancelled"),
    "status.revoked": ("peruttu", "återkallad", "revoked"),
}


def create_own_router(
    frame: AuditedFrame,
    store: Upstream,
    trail: AuditTrail,
    names: NameDirectory,
    reasons: ReasonCatalogue,
    door: SessionDoor,
    outside: frozenset[Sector],
) -> APIRouter:
    """The client's own pages, reading `store` (HAPI) and `trail`; the report names people and
    gives reasons as the auditors' pages do (`names`, `reasons`); her forms carry her session's
    CSRF token (`door`); she is offered consents for organisations of the `outside` sectors (those
    whose access needs her consent)."""
    router = APIRouter()

    async def page(request: Request, what: str, answer: Answer, kind: str = "Patient") -> Response:
        async def serve(attempt: Attempt) -> Responded:
            citizen = attempt.citizen_caller()  # the frame let in only a citizen's session
            attempt.touch(citizen.patient)
            if citizen.role == GUARDIAN:  # the minor decides, on every request
                refusals = guardian_refusals(await read_consents(store, citizen.patient), citizen.patient)
                if refusals:
                    raise Forbidden("the minor's decision bars guardians from her information", refusals)
            return await answer(attempt, citizen, language_of(request))

        attempt = Attempt(interaction=what, resource_type=kind)
        back = f"{request.url.path}?lang={language_of(request)}"
        response = await frame(request, serve, attempt, audience=Audience.CITIZEN_PAGES)
        lang = language_of(request)
        if response.status_code == 401:
            response = message_page("required", lang, 401, link=f"/login?next={request.url.path}&lang={lang}")
        elif response.status_code >= 400 and response.headers.get("content-type", "").startswith(FHIR_JSON):
            response = message_page("error", lang, response.status_code, why=_diagnostics(response), link=back)
        response.headers.update(page_headers())
        return response

    async def plan(request: Request) -> Response:
        async def answer(attempt: Attempt, citizen: CitizenPrincipal, lang: str) -> Responded:
            patient = citizen.patient
            resources = await _plan_resources(store, patient)
            content = own_plan(resources, patient, citizen.person, lang, _today())
            session = door.session_of(request)
            html = _environment.get_template("plan.html").render(
                lang=lang, t=_texts(lang), plan=content, csrf=session.csrf if session else "", max_text=MAX_TEXT,
                done=request.query_params.get("done", ""), languages=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES],
            )  # fmt: skip
            shown = tuple(Disclosed(reference, patient) for reference in content.references)
            return Responded(HTMLResponse(html), (patient,), shown=shown)

        return await page(request, "read", answer)

    async def report(request: Request) -> Response:
        async def answer(attempt: Attempt, citizen: CitizenPrincipal, lang: str) -> Responded:
            patient = citizen.patient
            params = list(request.query_params.multi_items())
            html = await report_page(trail, names, reasons, patient, params, lang)
            return Responded(HTMLResponse(html), (patient,))

        return await page(request, "search", answer)

    async def consents(request: Request) -> Response:
        async def answer(attempt: Attempt, citizen: CitizenPrincipal, lang: str) -> Responded:
            patient = citizen.patient
            found = await _all(store, "Consent", {"patient": patient})
            shared = sharing(found, patient, _today())
            sectors = ",".join(f"{SECTOR_SYSTEM}|{sector}" for sector in sorted(outside))
            named_ones, offered_ones = await asyncio.gather(
                _by_id(store, "Organization", sorted(shared)),
                _all(store, "Organization", {"type": sectors}) if sectors else _nothing(),
            )
            organizations = [*named_ones, *offered_ones]
            named = {f"Organization/{o.get('id')}": str(o.get("name", "")) for o in organizations}
            t = _texts(lang)
            rows = [
                {
                    "organization": org,
                    "name": named.get(org, org),
                    "types": ", ".join(t.get(f"type.{kind}", kind) for kind in share.types),
                    "until": share.until,
                }
                for org, share in sorted(shared.items(), key=lambda item: named.get(item[0], item[0]))
            ]
            offered = [
                {"organization": ref, "name": name}
                for ref, name in sorted(named.items(), key=lambda item: item[1])
                if ref not in shared and _sectors_of(offered_ones, ref) & outside
            ]
            session = door.session_of(request)
            html = _environment.get_template("consents.html").render(
                lang=lang, t=t, rows=rows, offered=offered, csrf=session.csrf if session else "",
                done=request.query_params.get("done", ""), languages=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES],
            )  # fmt: skip
            shown = tuple(Disclosed(c, patient) for share in shared.values() for c in share.consents)
            return Responded(HTMLResponse(html), (patient,), shown=shown)

        return await page(request, "read", answer, "Consent")

    async def form_page(request: Request, kind: str, change: Change) -> Response:
        """A page that takes her form (with her session's CSRF token, else refused), writes what
        `change` makes of it (recorded before it is sent) and sends her back to the page."""

        async def answer(attempt: Attempt, citizen: CitizenPrincipal, lang: str) -> Responded:
            sent = await door.form_of(request)
            if sent is None:
                return Responded(message_page("refused", lang, 403), (citizen.patient,), effect=Effect.DENY)
            entries, back = await change(citizen, sent[1], lang)
            if entries:
                await attempt.intend(tuple(f"{e['request']['method']} {e['request']['url']}" for e in entries), ())
                await _transaction(store, entries)
            return Responded(RedirectResponse(back, status_code=303), (citizen.patient,))

        return await page(request, "update", answer, kind)

    async def change_consent(request: Request) -> Response:
        async def change(citizen: CitizenPrincipal, form: Mapping[str, str], lang: str) -> Written:
            patient = citizen.patient
            action, organization = form.get("action", ""), form.get("organization", "")
            if action not in ("grant", "withdraw") or not ORGANIZATION_REFERENCE.fullmatch(organization):
                raise BadRequest("the consent form names no action (grant, withdraw) and organisation")
            found = await _all(store, "Consent", {"patient": patient})
            mine = [c for c in found if patient_of(c) == patient]
            if action == "withdraw":
                writes = [(c, w) for c in mine if c.get("status") == "active" and (w := withdrawn(c, organization))]
                entries = [_put(store.base_url, consent, changed) for consent, changed in writes]
            else:
                custodian = next((_custodian(c) for c in mine if _custodian(c)), "")
                if not custodian:
                    raise Conflict("you have no consent on file yet: your personal worker records the first one")
                entries = [_post(granted(patient, citizen.person, organization, custodian, _today()))]
            return entries, f"/me/consents?lang={lang}&done={action if entries else 'nothing'}"

        return await form_page(request, "Consent", change)

    async def change_goal(request: Request) -> Response:
        async def change(citizen: CitizenPrincipal, form: Mapping[str, str], lang: str) -> Written:
            patient = citizen.patient
            goal_id, text = form.get("goal", ""), form.get("text", "")
            try:
                if goal_id:
                    if not is_id(goal_id):
                        raise BadRequest("the form names no goal")
                    found = await _all(store, "Goal", {"_id": goal_id, "subject": patient})
                    if not found or not is_hers(found[0], patient, citizen.person):
                        raise Forbidden("you may change only the goals you have written yourself")
                    entry = _put(store.base_url, found[0], edited_goal(found[0], patient, citizen.person, text))
                else:
                    entry = _post(new_goal(patient, citizen.person, text, _today()))
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            return [entry], f"/me/plan?lang={lang}&done=goal#goals"

        return await form_page(request, "Goal", change)

    router.add_api_route("/me/plan", plan, methods=["GET"])
    router.add_api_route("/me/report", report, methods=["GET"])
    router.add_api_route("/me/consents", consents, methods=["GET"])
    router.add_api_route("/me/consents", change_consent, methods=["POST"])
    router.add_api_route("/me/goals", change_goal, methods=["POST"])
    return router


def _diagnostics(response: Response) -> str:
    """What an OperationOutcome answer says (its first issue's diagnostics)."""
    try:
        issues = json.loads(bytes(response.body)).get("issue", [])
    except (ValueError, AttributeError):
        return ""
    return str(issues[0].get("diagnostics", "")) if issues and isinstance(issues[0], dict) else ""


async def _nothing() -> list[Mapping[str, Any]]:
    return []


def _today() -> date:
    return datetime.now(_HELSINKI).date()


def _custodian(consent: Mapping[str, Any]) -> str:
    """The organisation that keeps `consent` (its first `organization`)."""
    keepers = consent.get("organization")
    first = keepers[0] if isinstance(keepers, list) and keepers else None
    return str(first.get("reference", "")) if isinstance(first, Mapping) else ""


def _sectors_of(organizations: Sequence[Mapping[str, Any]], reference: str) -> frozenset[Sector]:
    """The sectors (CodeSystem/sector) of the organisation at `reference`."""
    for organization in organizations:
        if f"Organization/{organization.get('id')}" == reference:
            codes = {
                str(coding.get("code"))
                for concept in organization.get("type", []) if isinstance(concept, Mapping)
                for coding in concept.get("coding", []) if isinstance(coding, Mapping)
                and coding.get("system") == SECTOR_SYSTEM
            }  # fmt: skip
            return frozenset(Sector(code) for code in codes if code in tuple(Sector))
    return frozenset()


def _put(base: str, read: Mapping[str, Any], changed: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction entry replacing `read` with `changed`, only if it is still the version read."""
    version = str(read.get("meta", {}).get("versionId", ""))
    url = f"{read.get('resourceType')}/{read.get('id')}"
    request = {"method": "PUT", "url": url, "ifMatch": f'W/"{version}"'}
    return {"fullUrl": f"{base}/{url}", "resource": dict(changed), "request": request}


def _post(resource: Mapping[str, Any]) -> dict[str, Any]:
    request = {"method": "POST", "url": str(resource["resourceType"])}
    return {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": dict(resource), "request": request}


async def _transaction(store: Upstream, entries: Sequence[Mapping[str, Any]]) -> None:
    """Write `entries` as one transaction: all of them or none (changed meanwhile: 409)."""
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}
    answer = await store.send(
        "POST",
        "",
        headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        content=json.dumps(bundle).encode("utf-8"),
    )
    if answer.status in (409, 412):
        raise Conflict("this changed meanwhile; open the page again")
    if answer.status not in (200, 201):
        _log.warning("the store refused a transaction: %.2000s", answer.body.decode("utf-8", "replace"))
        raise Unprocessable("the FHIR store did not accept the change")


async def _plan_resources(store: Upstream, patient: str) -> list[Mapping[str, Any]]:
    """Her plans, goals and teams, with the roles, people and organisations the teams name."""
    plans, goals, teams = await asyncio.gather(
        *(_all(store, kind, {"subject": patient}) for kind in ("CarePlan", "Goal", "CareTeam"))
    )
    roles = await _by_id(store, "PractitionerRole", _references(teams, "participant", "member"))
    people, organizations = await asyncio.gather(
        _by_id(store, "Practitioner", _references(roles, None, "practitioner")),
        _by_id(store, "Organization", _references(roles, None, "organization")),
    )
    return [*plans, *goals, *teams, *roles, *people, *organizations]


async def _all(store: Upstream, kind: str, params: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """Every `kind` matching `params` (a store that cannot answer whole: 503, never a half page)."""
    try:
        return list(await search_all(store, kind, params))
    except SearchFailed as exc:
        raise UpstreamUnavailable("the FHIR store could not answer") from exc


async def _by_id(store: Upstream, kind: str, references: Sequence[str]) -> list[Mapping[str, Any]]:
    ids = sorted({r.split("/", 1)[1] for r in references if r.startswith(f"{kind}/")})
    return await _all(store, kind, {"_id": ",".join(ids)}) if ids else []


def _references(resources: Sequence[Mapping[str, Any]], within: str | None, element: str) -> list[str]:
    """The references in `element` of each resource (of each item of its list `within`, if given)."""
    holders = [h for r in resources for h in (r.get(within) or [] if within else [r]) if isinstance(h, Mapping)]
    values = [h.get(element) for h in holders]
    return [str(v["reference"]) for v in values if isinstance(v, Mapping) and isinstance(v.get("reference"), str)]


def _texts(lang: str) -> dict[str, str]:
    return translated(_TEXTS, lang)
