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
`organization`, `sector` and `client` for the console's filters, `_count` (≤ 500) and `_offset`.
Anything else is refused with 400, as on the FHIR path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.access.policy import RolePolicy
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
from gateway.review.pages import LANGUAGES, render_console, render_report
from gateway.served import Attempt, Responded

__all__ = ["LANGUAGES", "create_audit_router", "query_of"]

_FIELDS = {"patient", "agent", "entity", "type", "subtype", "outcome", "purpose", "organization", "sector", "client"}
_PAGING = {"_count", "_offset", "_format", "lang"}
_MAX_COUNT = 500
_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
"""Headers of every audit answer: personal data, never cached, never scripted."""


def query_of(params: list[tuple[str, str]]) -> AuditQuery:
    """The store query for these search parameters; `BadRequest` for anything not allowed."""
    query = AuditQuery()
    for name, value in params:
        value = value.strip()
        if not value and name not in _PAGING:
            continue  # an empty form field filters nothing
        if name == "date":
            query = _with_date(query, value)
        elif name in _FIELDS:
            field: dict[str, Any] = {"client_id" if name == "client" else name: value}
            query = replace(query, **field)
        elif name == "_count":
            query = replace(query, limit=_number(name, value, 1, _MAX_COUNT))
        elif name == "_offset":
            query = replace(query, offset=_number(name, value, 0, 10**9))
        elif name not in _PAGING:
            raise BadRequest(f"the audit search does not support the parameter {name[:70]!r}")
    return query


def create_audit_router(frame: AuditedFrame, role_policy: RolePolicy, trail: AuditTrail, origin: str) -> APIRouter:
    """The /audit endpoints over `trail`, each inside `frame`, for callers `role_policy` lets in.

    Links (a search's `self`) are built on `origin`, the gateway's configured public origin,
    never on the request's Host header."""
    router = APIRouter()

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
            query = query_of(_params(request))
            events = await _search(trail, query)
            self_url = f"{origin}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
            bundle = _bundle("searchset", events, self_url)
            return Responded(JSONResponse(bundle, media_type=FHIR_JSON), _patient_list(query.patient))

        return await serve(request, answer, _named_patient(request))

    async def report(request: Request, patient_id: str) -> Response:
        async def answer() -> Responded:
            patient = f"Patient/{patient_id}"
            lang = _language(request)
            events = await _search(trail, AuditQuery(patient=patient, limit=_MAX_COUNT))
            if _wants_html(request):
                return Responded(HTMLResponse(render_report(patient, [_json(e) for e in events], lang)), (patient,))
            return Responded(JSONResponse(_bundle("collection", events, None), media_type=FHIR_JSON), (patient,))

        return await serve(request, answer, (f"Patient/{patient_id}",))

    async def console(request: Request) -> Response:
        async def answer() -> Responded:
            params = _params(request)
            query, lang = query_of(params), _language(request)
            events, verdict = await asyncio.gather(_search(trail, query), _verify(trail))
            page = render_console([_json(e) for e in events], params, verdict, lang)
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


async def _search(trail: AuditTrail, query: AuditQuery) -> list[StoredEvent]:
    try:
        return await asyncio.to_thread(trail.store.search, query)
    except StoreError as exc:
        raise AuditUnavailable("the audit trail cannot be read") from exc


async def _verify(trail: AuditTrail) -> Verdict:
    store = trail.store
    try:
        return await asyncio.to_thread(lambda: verify(store.events(), store.checkpoints(), trail.public_key))
    except StoreError as exc:
        raise AuditUnavailable("the audit trail cannot be read") from exc


def _bundle(kind: str, events: list[StoredEvent], self_url: str | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if self_url:
        bundle["link"] = [{"relation": "self", "url": self_url}]
    bundle["entry"] = [{"resource": _json(event)} for event in events]
    return bundle


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
    if prefix in ("ge", "gt", "eq"):
        query = replace(query, date_from=date)
    if prefix in ("le", "lt", "eq"):
        query = replace(query, date_to=date + "\uffff")  # the whole day (or instant) named
    return query


def _number(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(value)
