"""The login endpoints: a person logs in at the county's identity provider and out again.

    GET  /login?next=<path>&lang=fi   starts a login: 303 to the provider's authorization endpoint
    GET  /login/callback?state&code   the provider's answer: the session starts, 303 to `next`
    POST /logout                      ends the session (form field `csrf`), 303 to the provider's logout
    POST /me/acting-for               a citizen acts for another client their login allows (`choice`, `csrf`)
    GET  /login/signed-out            where the provider sends the browser after logout
    GET  /me                          the logged-in person's page: who they are, their pages, logout

A login is bound to the browser that started it: its state is kept by the gateway
(`PendingLogins`, single use, 10 minutes) and in the login cookie, and the callback needs both
to agree; so a forged or replayed state, or a code sent to another browser, ends in a 400 page,
as does a code the provider refuses (a replayed code) or an ID token that does not check
(`gateway.login.oidc`). `next` is only ever a path of this gateway ("/…", never "//…"): no
open redirect. Logout needs the session's CSRF token; the session ends at the gateway before
the browser is sent on to the provider.

Every request runs in the audited frame as a public endpoint: a login is recorded with the
professional it made (their principal) or, for a citizen or a refusal, with what is known
(the provider's subject id, or why it failed); never a henkilötunnus in free text.
Pages are in Finnish, Swedish or English (`lang`), work without JavaScript, and are never cached.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from auth.principal import CitizenPrincipal, Principal
from gateway.access.seam import Effect
from gateway.app.frame import AuditedFrame
from gateway.fhir.codes import CLIENT
from gateway.login.oidc import LoginFailed, OidcProvider, ProviderUnavailable
from gateway.login.pages import language_of, message_page, page_headers, render, texts_for
from gateway.login.people import ActingFor, Citizen, ClaimsMapping, Person, Professional, SessionGrant, person_of
from gateway.login.sessions import BrowserSession, PendingLogins, SessionDoor
from gateway.served import Attempt, Responded
from gateway.templates import LANGUAGE_NAMES, LANGUAGES

__all__ = ["PeopleLogin", "PrincipalOf", "create_login_router"]

PrincipalOf = Callable[[Professional, SessionGrant], Awaitable[Principal]]
"""The principal a professional acts as in the session of `SessionGrant`."""
CitizenOf = Callable[[Citizen, SessionGrant], Awaitable[tuple[ActingFor, ...]]]
"""Whom a citizen may act for in the session of `SessionGrant`, themself first."""


@dataclass(frozen=True)
class PeopleLogin:
    """What the login endpoints need: the provider, the claims mapping, the sessions and how a
    professional's principal is found."""

    provider: OidcProvider
    mapping: ClaimsMapping
    door: SessionDoor
    pending: PendingLogins
    principal_of: PrincipalOf
    citizen_of: CitizenOf


def create_login_router(frame: AuditedFrame, login: PeopleLogin) -> APIRouter:
    """The login endpoints; see the module doc."""
    router = APIRouter()
    cookies = login.door.cookies

    async def public(request: Request, interaction: str, serve: Callable[[Attempt], Awaitable[Responded]]) -> Response:
        return await frame(request, serve, Attempt(interaction=interaction), public=True)

    async def start(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            lang = language_of(request)
            pending = login.pending.start(_local_path(request.query_params.get("next", "")), lang)
            try:
                target = await login.provider.authorization_url(pending.request, language=lang)
            except LoginFailed as failure:
                attempt.anonymous = f"login not started: {failure.reason}"
                return Responded(message_page("failed", lang, 503, why=failure.reason), effect=Effect.DENY)
            attempt.anonymous = "login started"
            response = RedirectResponse(target, status_code=303, headers=page_headers())
            cookies.set(response, cookies.login, pending.request.state, max_age=int(login.pending.ttl))
            return Responded(response)

        return await public(request, "login", serve)

    async def callback(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            state = request.query_params.get("state", "")
            bound = request.cookies.get(cookies.login, "")
            pending = login.pending.take(state) if state and bound == state else None
            lang = pending.language if pending else language_of(request)

            def refused(reason: str, status: int = 400) -> Responded:
                attempt.anonymous = f"login refused: {reason}"
                response = message_page("failed", lang, status, why=reason)
                cookies.clear(response, cookies.login)
                return Responded(response, effect=Effect.DENY)

            if pending is None:
                return refused("the login's state is unknown, used, expired or not this browser's")
            if "error" in request.query_params:
                return refused(f"the identity provider answered {request.query_params['error'][:60]!r}")
            code = request.query_params.get("code", "")
            if not code:
                return refused("the identity provider's answer has no code")
            try:
                claims, id_token = await login.provider.redeem(code, pending.request)
                person = person_of(claims, login.mapping)
                session = await _open(login, person, id_token)
            except ProviderUnavailable as failure:
                return refused(failure.reason, 503)
            except LoginFailed as failure:
                return refused(failure.reason)
            _note(attempt, session, f"logged in, with nothing to act on (subject {person.subject[:64]})")
            response = RedirectResponse(pending.next_path, status_code=303, headers=page_headers())
            cookies.clear(response, cookies.login)
            cookies.set(response, cookies.session, session.key)
            return Responded(response)

        return await public(request, "login-callback", serve)

    async def logout(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            lang = language_of(request)
            sent = await login.door.form_of(request)
            if sent is None:
                attempt.anonymous = "logout refused: no session, or the form's CSRF token is not the session's"
                return Responded(message_page("refused", lang, 403), effect=Effect.DENY)
            session, _ = sent
            login.door.sessions.close(session.key)
            _note(attempt, session, "logged out")
            try:
                target = await login.provider.end_session_url(session.id_token)
            except LoginFailed:
                target = None
            response = RedirectResponse(target or f"/login/signed-out?lang={lang}", status_code=303)
            response.headers.update(page_headers())
            cookies.clear(response, cookies.session)
            return Responded(response)

        return await public(request, "logout", serve)

    async def signed_out(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            attempt.anonymous = "signed out"
            return Responded(message_page("signed_out", language_of(request), 200))

        return await public(request, "signed-out", serve)

    async def me(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            lang = language_of(request)
            session = login.door.session_of(request)
            if session is None:
                attempt.anonymous = "no session, or it has expired"
                return Responded(message_page("required", lang, 401, link=f"/login?next=/me&lang={lang}"))
            _note(attempt, session, "the own page of a person with nothing to act on")
            page = _me_page(session, lang)
            return Responded(HTMLResponse(page, headers=page_headers(_origin(login.provider.config.issuer))))

        return await public(request, "own-page", serve)

    router.add_api_route("/login", start, methods=["GET"])
    router.add_api_route("/login/callback", callback, methods=["GET"])
    router.add_api_route("/logout", logout, methods=["POST"])
    router.add_api_route("/login/signed-out", signed_out, methods=["GET"])

    async def act_for(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            lang = language_of(request)
            sent = await login.door.form_of(request)
            choice = sent[1].get("choice", "") if sent else ""
            switched = login.door.sessions.act_for(sent[0].key, int(choice)) if sent and choice.isdigit() else None
            if switched is None:
                attempt.anonymous = "acting for another refused: no session, no such choice, or not its CSRF token"
                return Responded(message_page("refused", lang, 403), effect=Effect.DENY)
            _note(attempt, switched, "")
            return Responded(RedirectResponse(f"/me?lang={lang}", status_code=303, headers=page_headers()))

        return await public(request, "act-for", serve)

    router.add_api_route("/me", me, methods=["GET"])
    router.add_api_route("/me/acting-for", act_for, methods=["POST"])
    return router


async def _open(login: PeopleLogin, person: Person, id_token: str) -> BrowserSession:
    """A session for `person`, with the principal they act as."""
    sessions = login.door.sessions
    serial = secrets.token_urlsafe(12)
    now = int(sessions.clock())
    grant = SessionGrant(login.provider.config.client_id, serial, now, now + int(sessions.lifetime))
    if isinstance(person, Professional):
        return sessions.open(person, await login.principal_of(person, grant), id_token, serial)
    choices = await login.citizen_of(person, grant)
    return sessions.open(person, choices[0].principal if choices else None, id_token, serial, choices)


def _note(attempt: Attempt, session: BrowserSession, otherwise: str) -> None:
    """Record the request with the session's principal, or `otherwise` when it has none."""
    if isinstance(session.principal, CitizenPrincipal):
        attempt.citizen = session.principal
    elif session.principal is not None:
        attempt.principal = session.principal
    else:
        attempt.anonymous = otherwise


def _me_page(session: BrowserSession, lang: str) -> str:
    t = texts_for(lang)
    person = session.person
    links: list[dict[str, Any]] = []
    principal = session.principal
    if isinstance(principal, CitizenPrincipal):
        links.append({"href": f"/me/plan?lang={lang}", "text": t["own_plan"]})
        links.append({"href": f"/me/consents?lang={lang}", "text": t["own_consents"]})
        links.append({"href": f"/me/report?lang={lang}", "text": t["own_report"]})
    elif principal is not None and any(s.resource_type == "AuditEvent" for s in principal.scopes):
        links.append({"href": f"/audit/console?lang={lang}", "text": t["console"]})
    acting = principal.patient if isinstance(principal, CitizenPrincipal) else ""
    choices = [
        {"index": i, "name": c.name or c.principal.patient, "own": c.principal.role == CLIENT,
         "current": c.principal.patient == acting}
        for i, c in enumerate(session.choices)
    ]  # fmt: skip
    return render(
        "me.html",
        choices=choices if len(choices) > 1 else [],
        lang=lang,
        t=t,
        title=t["title_me"],
        name=person.name,
        kind=t["as_professional"] if isinstance(person, Professional) else t["as_citizen"],
        citizen=isinstance(person, Citizen),
        links=links,
        csrf=session.csrf,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
    )


def _local_path(value: str) -> str:
    """`value` if it is a path of this gateway, else /me."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value and value.isprintable():
        return value
    return "/me"


def _origin(url: str) -> str:
    """The origin (scheme://host[:port]) of `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
