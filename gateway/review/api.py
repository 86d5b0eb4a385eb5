"""The auditors' interface to the trail: FHIR search, the client's access report, the console.

    GET /audit/AuditEvent?...                 Bundle (searchset) of BALP AuditEvents
    GET /audit/report/Patient/{id}[?lang=fi]  the client's access report: a FHIR Bundle, or
                                              with Accept text/html (or _format=html) a page
                                              in Finnish, Swedish or English
    GET /audit/console?...                    the auditor's page: filters, highlights, chain status

Every request runs in the audited frame (`gateway.app.frame`) and needs a bearer token, or the
browser session of a logged-in person (`gateway.login`; a page asked for without one answers
401 with a page that links to the login), whose professional holds the `auditor` role and whose scopes cover AuditEvent search: the role
policy decides (`auditors read the audit trail;
auditors have no clinical access`), so no clinical role reads the trail. Reading the trail is
itself recorded in it, allowed or denied, before the answer leaves (503 if it cannot be).

Search parameters (FHIR AuditEvent search, as auditors use them): `date` (repeatable, with
prefixes ge/le/gt/lt/eq on an ISO date or instant), `patient`, `agent` (the professional's
PractitionerRole reference), `entity`, `type`, `subtype`, `outcome`, `purpose`, plus
`organization`, `sector` and `client` for the console's filters, `from_date` and `to_date`
(Helsinki local days, `2026-11-30`: each takes its whole day, whatever its UTC offset), and the
page: `_count` (1–500, default 100), `_before`/`_after` (keyset paging on the event sequence,
`gateway.review.paging`) and `_offset`. Every bound given applies: two `date` bounds, or a
`date` and a local day, narrow to what both allow. Anything else is refused with 400, as on the
FHIR path. The report takes `from_date`, `to_date`, the page parameters, `lang` and `_format`.

Paging has no cap: the search's Bundle carries `total` and `self`, `next` and `previous` links
(on the configured origin), the report's Bundle the links, and the console and the report pages
say "events X–Y of N" with links to the next and the previous page. The pages show names, not
references, resolved by the `NameDirectory` (cached for its stated TTL; the references stay
beside them), and each reason as text in the page's language from the `ReasonCatalogue`, its
rule id on demand.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.access.policy import RolePolicy
from gateway.access.reasons import ReasonCatalogue
from gateway.access.seam import AccessRequest, Effect, UnknownPatient
from gateway.app.bearer import Audience
from gateway.app.frame import AuditedFrame
from gateway.audit.store import AuditQuery, StoredEvent, StoreError
from gateway.audit.trail import AuditTrail
from gateway.audit.verify import Verdict, verify
from gateway.errors import AuditUnavailable, BadRequest, Forbidden
from gateway.fhir.codes import Interaction
from gateway.fhir.ids import PATIENT_REFERENCE
from gateway.fhir.media import FHIR_JSON
from gateway.login.pages import language_of, message_page
from gateway.review.helsinki import day_bounds
from gateway.review.names import NameDirectory, Names
from gateway.review.pages import LANGUAGES, references_of, render_console, render_report
from gateway.review.paging import EMPTY, MAX_COUNT, PAGE_SIZE, Window
from gateway.served import Attempt, Responded

__all__ = ["LANGUAGES", "create_audit_router", "query_of", "report_page", "report_query"]

_FIELDS = {"patient", "agent", "entity", "type", "subtype", "outcome", "purpose", "organization", "sector", "client"}
_PAGING = {"_count", "_offset", "_before", "_after", "_format", "lang"}
_DAYS = {"from_date", "to_date"}
_REPORT = _PAGING | _DAYS
_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
"""Headers of every audit answer: personal data, never cached, never scripted."""


def query_of(params: Iterable[tuple[str, str]], allowed: Iterable[str] | None = None) -> AuditQuery:
    """The store query for these search parameters; `BadRequest` for anything not allowed (any
    parameter of the module doc, or only those in `allowed`)."""
    query = AuditQuery(limit=PAGE_SIZE)
    names = set(allowed) if allowed is not None else _FIELDS | _PAGING | _DAYS | {"date"}
    for name, value in params:
        value = value.strip()
        if name not in names:
            raise BadRequest(f"the audit search does not support the parameter {name[:70]!r}")
        if not value and name not in _PAGING:
            continue  # an empty form field filters nothing
        if name == "date":
            query = _with_date(query, value)
        elif name in _DAYS:
            first, last = day_bounds(_day(name, value))
            query = _within(query, first if name == "from_date" else None, last if name == "to_date" else None)
        elif name in _FIELDS:
            field: dict[str, Any] = {"client_id" if name == "client" else name: value}
            query = replace(query, **field)
        elif name == "_count":
            query = replace(query, limit=_number(name, value, 1, MAX_COUNT))
        elif name == "_offset":
            query = replace(query, offset=_number(name, value, 0, 10**9))
        elif name == "_before":
            query = replace(query, before=_number(name, value, 0, 2**62))
        elif name == "_after":
            query = replace(query, after=_number(name, value, 0, 2**62))
    return query


def report_query(patient: str, params: Iterable[tuple[str, str]]) -> AuditQuery:
    """The query of the access report on `patient` ("Patient/<id>"): paging and local days only."""
    return replace(query_of(params, _REPORT), patient=patient)


async def report_page(
    trail: AuditTrail,
    names: NameDirectory,
    reasons: ReasonCatalogue,
    patient: str,
    params: Sequence[tuple[str, str]],
    lang: str,
) -> str:
    """One page of the access report on `patient`, as `params` ask (paging, local days), in `lang`:
    its rows are the REST events (what was done); `BadRequest` for any other parameter."""
    events, window = await _page(trail, replace(report_query(patient, params), type="rest"))
    shown = [_json(e) for e in events]
    return render_report(patient, shown, lang, await _names(names, shown), reasons, params, window)


def create_audit_router(
    frame: AuditedFrame, role_policy: RolePolicy, trail: AuditTrail, origin: str, names: NameDirectory
) -> APIRouter:
    """The /audit endpoints over `trail`, each inside `frame`, for callers `role_policy` lets in;
    the pages name people, organisations and systems through `names`, and give reasons as the
    catalogue of `role_policy` and the consent decider says them.

    Links (a search's `self`, `next`, `previous`) are built on `origin`, the gateway's
    configured public origin, never on the request's Host header."""
    router = APIRouter()
    reasons = ReasonCatalogue.of(role_policy.policy)

    async def serve(request: Request, answer: Callable[[], Awaitable[Responded]], named: tuple[str, ...]) -> Response:
        async def audited(attempt: Attempt) -> Responded:
            request = AccessRequest.of(
                attempt.caller(), Interaction.SEARCH, "AuditEvent", patient=UnknownPatient("the audit trail")
            )
            decision = role_policy.check(request)
            if decision.effect is not Effect.PERMIT:
                raise Forbidden("only auditors read the audit trail", decision.reasons)
            return replace(await answer(), reasons=decision.reasons)

        attempt = Attempt(interaction="search", resource_type="AuditEvent")
        attempt.touch(*named)
        response = await frame(request, audited, attempt, audience=Audience.PROFESSIONAL_PAGES)
        if response.status_code == 401 and _wants_html(request):  # a person in a browser: how to log in
            back = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            lang = language_of(request)
            response = message_page("required", lang, 401, link=f"/login?next={back}&lang={lang}")
        response.headers.update(_PRIVATE)
        return response

    async def search(request: Request) -> Response:
        async def answer() -> Responded:
            params = _params(request)
            query = query_of(params)
            events, window = await _page(trail, query)
            bundle = _bundle("searchset", events, _links(origin, request, params, window), window.total)
            return Responded(JSONResponse(bundle, media_type=FHIR_JSON), _patient_list(query.patient))

        return await serve(request, answer, _named_patient(request))

    async def report(request: Request, patient_id: str) -> Response:
        async def answer() -> Responded:
            patient = f"Patient/{patient_id}"
            params = _params(request)
            lang = _language(request)
            query = report_query(patient, params)
            if _wants_html(request):
                page = await report_page(trail, names, reasons, patient, params, lang)
                return Responded(HTMLResponse(page), (patient,))
            events, window = await _page(trail, query)
            bundle = _bundle("collection", events, _links(origin, request, params, window))
            return Responded(JSONResponse(bundle, media_type=FHIR_JSON), (patient,))

        return await serve(request, answer, (f"Patient/{patient_id}",))

    async def console(request: Request) -> Response:
        async def answer() -> Responded:
            params = _params(request)
            query, lang = query_of(params), _language(request)
            (events, window), verdict = await asyncio.gather(_page(trail, query), _verify(trail))
            shown = [_json(e) for e in events]
            page = render_console(shown, params, verdict, lang, await _names(names, shown), reasons, window)
            return Responded(HTMLResponse(page), _patient_list(query.patient))

        return await serve(request, answer, _named_patient(request))

    router.add_api_route("/audit/AuditEvent", search, methods=["GET"])
    router.add_api_route("/audit/report/Patient/{patient_id}", report, methods=["GET"])
    router.add_api_route("/audit/console", console, methods=["GET"])
    return router


def _named_patient(request: Request) -> tuple[str, ...]:
    """The client a search names (recorded even when the search is refused)."""
    patient = request.query_params.get("patient", "").strip()
    return (patient,) if PATIENT_REFERENCE.fullmatch(patient) else ()


async def _page(trail: AuditTrail, query: AuditQuery) -> tuple[list[StoredEvent], Window]:
    """The page of events `query` names, newest first, and where it lies among the matches."""
    store = trail.store

    def read() -> tuple[list[StoredEvent], Window]:
        events = store.search(query)
        keys = replace(query, before=None, after=None, offset=0)
        if events:
            newer = store.count(replace(keys, after=events[0].seq))
            older = store.count(replace(keys, before=events[-1].seq))
            return events, Window(events[0].seq, events[-1].seq, len(events), newer, older)
        if query.before is not None:  # past the oldest: every match is newer, and the way back is a link
            return events, Window(
                query.before - 1, query.before - 1, 0, store.count(replace(keys, after=query.before - 1)), 0
            )
        if query.after is not None:  # past the newest
            return events, Window(
                query.after + 1, query.after + 1, 0, 0, store.count(replace(keys, before=query.after + 1))
            )
        return events, EMPTY

    try:
        return await asyncio.to_thread(read)
    except StoreError as exc:
        raise AuditUnavailable("the audit trail cannot be read") from exc


async def _names(directory: NameDirectory, events: Sequence[dict[str, Any]]) -> Names:
    return await directory.names(reference for event in events for reference in references_of(event))


async def _verify(trail: AuditTrail) -> Verdict:
    store = trail.store
    try:
        return await asyncio.to_thread(lambda: verify(store.events(), store.checkpoints(), trail.public_key))
    except StoreError as exc:
        raise AuditUnavailable("the audit trail cannot be read") from exc


def _bundle(
    kind: str, events: list[StoredEvent], links: list[dict[str, str]], total: int | None = None
) -> dict[str, Any]:
    """A Bundle of `events`; `total` only for a searchset (FHIR allows it on no other kind)."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if total is not None:
        bundle["total"] = total
    return {**bundle, "link": links, "entry": [{"resource": _json(event)} for event in events]}


def _links(origin: str, request: Request, params: list[tuple[str, str]], window: Window) -> list[dict[str, str]]:
    """The Bundle's `self`, `next` and `previous` links (those that exist), on `origin`."""
    here = f"{origin}{request.url.path}"
    links = [{"relation": "self", "url": here + (f"?{request.url.query}" if request.url.query else "")}]
    for relation, query in (("next", window.next_query(params)), ("previous", window.previous_query(params))):
        if query is not None:
            links.append({"relation": relation, "url": here + query})
    return links


def _json(event: StoredEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.event)
    return parsed


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _patient_list(patient: str | None) -> tuple[str, ...]:
    return (patient,) if patient else ()


def _language(request: Request) -> str:
    lang = request.query_params.get("lang", "fi")
    if lang not in LANGUAGES:
        raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}")
    return lang


def _wants_html(request: Request) -> bool:
    """The console always is a page; the rest when asked for one (`_format=html` or Accept text/html)."""
    return (
        request.url.path == "/audit/console"
        or request.query_params.get("_format") == "html"
        or "text/html" in request.headers.get("accept", "")
    )


def _with_date(query: AuditQuery, value: str) -> AuditQuery:
    prefix, date = (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
    if not date or not date[:4].isdigit():
        raise BadRequest("date must be an ISO date or instant, optionally prefixed with ge, le, gt, lt or eq")
    lower = date if prefix in ("ge", "gt", "eq") else None
    upper = date + "\uffff" if prefix in ("le", "lt", "eq") else None  # the whole day (or instant) named
    return _within(query, lower, upper)


def _within(query: AuditQuery, lower: str | None, upper: str | None) -> AuditQuery:
    """`query` narrowed to recorded times from `lower` to `upper` too (every bound applies)."""
    if lower is not None:
        query = replace(query, date_from=max(lower, query.date_from or lower))
    if upper is not None:
        query = replace(query, date_to=min(upper, query.date_to or upper))
    return query


def _day(name: str, value: str) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise BadRequest(f"{name} must be a date, YYYY-MM-DD")


def _number(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(value)
