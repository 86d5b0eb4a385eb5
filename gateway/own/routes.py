"""The client's own pages: her plan, her team and who has used her information.

    GET /me/plan?lang=fi     her shared plan(s), her goals in her own words, her team and her
                             personal worker with how to reach them (`gateway.own.view`)
    GET /me/report?lang=fi   the access report on her (`gateway.review.api.report_page`, paged,
                             with names and reasons): every request that touched or named her,
                             refused ones included

Only a logged-in citizen who is a client opens them (`Audience.CITIZEN_PAGES`: her browser
session, never a token); she sees her own data and nothing else — every search is for her
own patient reference, and `own_plan` keeps only resources whose subject is she. Each request
runs in the audited frame, recorded with her as the user (BALP: the Patient as requestor,
purpose PATRQT) and with the resources the page showed her. A store that cannot answer is a
503, never a half page. Pages are in Finnish, Swedish or English, work without JavaScript,
and are never cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.access.reasons import ReasonCatalogue
from gateway.app.bearer import Audience
from gateway.app.frame import AuditedFrame
from gateway.audit.record import Disclosed
from gateway.audit.trail import AuditTrail
from gateway.errors import UpstreamUnavailable
from gateway.login.pages import LANGUAGE_NAMES, LANGUAGES, language_of, message_page, page_headers
from gateway.own.view import own_plan
from gateway.review.api import report_page
from gateway.review.names import NameDirectory
from gateway.served import Attempt, Responded
from gateway.templates import page_templates

__all__ = ["create_own_router"]

Answer = Callable[[str, str], Awaitable[Responded]]
"""A page's work: (her patient reference, the page language) → the page."""

_HELSINKI = ZoneInfo("Europe/Helsinki")
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
    store: httpx.AsyncClient,
    store_base: str,
    trail: AuditTrail,
    names: NameDirectory,
    reasons: ReasonCatalogue,
) -> APIRouter:
    """The client's own pages, reading `store` (HAPI at `store_base`) and `trail`; the report
    names people and gives reasons as the auditors' pages do (`names`, `reasons`)."""
    router = APIRouter()
    base = store_base.rstrip("/")

    async def page(request: Request, what: str, answer: Answer) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            citizen = attempt.citizen
            assert citizen is not None  # the frame let in only a citizen's session
            attempt.touch(citizen.patient)
            return await answer(citizen.patient, language_of(request))

        attempt = Attempt(interaction=what, resource_type="Patient")
        response = await frame(request, serve, attempt, audience=Audience.CITIZEN_PAGES)
        if response.status_code == 401:
            lang = language_of(request)
            response = message_page("required", lang, 401, link=f"/login?next={request.url.path}&lang={lang}")
        response.headers.update(page_headers())
        return response

    async def plan(request: Request) -> Response:
        async def answer(patient: str, lang: str) -> Responded:
            resources = await _plan_resources(store, base, patient)
            content = own_plan(resources, patient, lang, datetime.now(_HELSINKI).date())
            html = _environment.get_template("plan.html").render(
                lang=lang, t=_texts(lang), plan=content, languages=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES]
            )
            shown = tuple(Disclosed(reference, patient) for reference in content.references)
            return Responded(HTMLResponse(html), (patient,), shown=shown)

        return await page(request, "read", answer)

    async def report(request: Request) -> Response:
        async def answer(patient: str, lang: str) -> Responded:
            params = list(request.query_params.multi_items())
            html = await report_page(trail, names, reasons, patient, params, lang)
            return Responded(HTMLResponse(html), (patient,))

        return await page(request, "search", answer)

    router.add_api_route("/me/plan", plan, methods=["GET"])
    router.add_api_route("/me/report", report, methods=["GET"])
    return router


async def _plan_resources(store: httpx.AsyncClient, base: str, patient: str) -> list[dict[str, Any]]:
    """Her plans, goals and teams, with the roles, people and organisations the teams name."""
    searches = [
        ("CarePlan", {"subject": patient}),
        ("Goal", {"subject": patient}),
        ("CareTeam", {"subject": patient, "_include": "CareTeam:participant"}),
    ]
    found = [r for bundle in await asyncio.gather(*(_search(store, base, t, p) for t, p in searches)) for r in bundle]
    roles = [r for r in found if r.get("resourceType") == "PractitionerRole"]
    if roles:
        ids = ",".join(str(r["id"]) for r in roles)
        found += await _search(
            store,
            base,
            "PractitionerRole",
            {"_id": ids, "_include": ["PractitionerRole:practitioner", "PractitionerRole:organization"]},
        )
    return found


async def _search(store: httpx.AsyncClient, base: str, kind: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    query = {**params, "_count": "200"}
    try:
        answer = await store.get(f"{base}/{kind}", params=query, headers={"Accept": "application/fhir+json"})
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable("the FHIR store did not answer") from exc
    if answer.status_code != 200:
        raise UpstreamUnavailable("the FHIR store could not answer")
    bundle = answer.json()
    if any(link.get("relation") == "next" for link in bundle.get("link", []) if isinstance(link, dict)):
        raise UpstreamUnavailable("there is more to show than one page holds")  # never a page with parts missing
    entries = bundle.get("entry", [])
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _texts(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {key: values[index] for key, values in _TEXTS.items()}
