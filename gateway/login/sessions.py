"""Who is logged in: browser sessions held by the gateway, and the logins under way.

`Sessions(clock, idle=..., lifetime=...)`:

- `open(person, principal, id_token, serial)` starts a session and returns it; its `key` (256
  random bits) is the cookie's value and nothing else: it never appears in the audit trail,
  where the session is named by `serial` (another random value, the caller's);
- `find(key)` is the session, or None when there is none or it expired: idle longer than
  `idle` seconds since it was last found, or older than `lifetime`. An expired session is
  forgotten at once. Finding a session counts as activity;
- `act_for(key, choice)` makes a citizen act for another of the clients their login allows
  (their own record, or a minor of theirs);
- `close(key)` ends it (logout) and returns what it was.

Each session has its own `csrf` token (256 random bits): every form the gateway serves
carries it, and a POST without the session's own token is refused (`csrf_matches`, a
constant-time comparison).

`PendingLogins(clock, ttl=...)` keeps each authorization request (`LoginRequest`) under its
state until its callback, at most `ttl` seconds, and hands it out once (`take`): a replayed
or forged state finds nothing.

`SessionCookies(secure)` names the cookies and sets them: HttpOnly, SameSite=Lax (the return
from the provider is a top-level navigation from another site, which Strict would strip),
Path=/, and Secure with the `__Host-` prefix when the gateway's origin is https. The session
cookie has no Max-Age (it ends with the browser); the login cookie, which binds a state to the
browser that started the login, lives as long as the pending login. `SessionDoor(sessions,
cookies).session_of(request)` is the live session of a request's cookie, or None; `form_of(request)`
that session with the form the request carries, only if the form holds the session's CSRF token.

Both stores live in this process's memory and are bounded (the oldest entries leave first); a
gateway restart logs everyone out. Thread-safe.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from starlette.requests import Request
from starlette.responses import Response

from auth.clock import Clock, system_clock
from auth.errors import InvalidRequest
from auth.forms import read_form
from auth.principal import CitizenPrincipal, Principal
from gateway.login.oidc import LoginRequest
from gateway.login.people import ActingFor, Person

__all__ = [
    "BrowserSession", "PendingLogin", "PendingLogins", "SessionCookies", "SessionDoor", "Sessions", "csrf_matches",
]  # fmt: skip

_MAX_SESSIONS = 10_000
_MAX_PENDING = 10_000


@dataclass(frozen=True)
class BrowserSession:
    """One logged-in person. Times are POSIX seconds."""

    key: str
    serial: str
    csrf: str
    person: Person
    principal: Principal | CitizenPrincipal | None
    id_token: str
    started: float
    seen: float
    choices: tuple[ActingFor, ...] = ()


@dataclass(frozen=True)
class PendingLogin:
    """An authorization request on its way, and where the browser goes after it."""

    request: LoginRequest
    next_path: str
    language: str
    started: float


def csrf_matches(session: BrowserSession, token: str) -> bool:
    """Whether `token` is `session`'s CSRF token (constant time)."""
    return bool(token) and hmac.compare_digest(session.csrf.encode("ascii"), token.encode("ascii", "replace"))


@dataclass
class Sessions:
    """The sessions of this process; see the module doc."""

    clock: Clock = system_clock
    idle: float = 900.0
    lifetime: float = 8 * 3600.0
    _open: OrderedDict[str, BrowserSession] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def open(
        self,
        person: Person,
        principal: Principal | CitizenPrincipal | None,
        id_token: str,
        serial: str,
        choices: tuple[ActingFor, ...] = (),
    ) -> BrowserSession:
        """A new session for `person`, acting as `principal` (None: a person with nothing to act
        on); a citizen may switch among `choices` (`act_for`)."""
        now = self.clock()
        session = BrowserSession(
            key=secrets.token_urlsafe(32),
            serial=serial,
            csrf=secrets.token_urlsafe(32),
            person=person,
            principal=principal,
            id_token=id_token,
            started=now,
            seen=now,
            choices=choices,
        )
        with self._lock:
            self._open[session.key] = session
            while len(self._open) > _MAX_SESSIONS:
                self._open.popitem(last=False)
        return session

    def find(self, key: str) -> BrowserSession | None:
        """The live session under `key`, its activity noted; None if none or expired."""
        now = self.clock()
        with self._lock:
            session = self._open.get(key)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.started > self.lifetime:
                del self._open[key]
                return None
            session = self._open[key] = replace(session, seen=now)
            self._open.move_to_end(key)
            return session

    def act_for(self, key: str, choice: int) -> BrowserSession | None:
        """The live session under `key`, now acting as its `choice`-th choice; None if it has no
        such choice (or no longer lives)."""
        with self._lock:
            session = self._open.get(key)
            if session is None or not 0 <= choice < len(session.choices):
                return None
            session = self._open[key] = replace(session, principal=session.choices[choice].principal)
            return session

    def close(self, key: str) -> BrowserSession | None:
        """End the session under `key`; what it was, or None."""
        with self._lock:
            return self._open.pop(key, None)


@dataclass
class PendingLogins:
    """The logins under way; see the module doc."""

    clock: Clock = system_clock
    ttl: float = 600.0
    _pending: OrderedDict[str, PendingLogin] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self, next_path: str, language: str) -> PendingLogin:
        """A new authorization request, kept under its state."""
        pending = PendingLogin(LoginRequest.new(), next_path, language, self.clock())
        with self._lock:
            self._pending[pending.request.state] = pending
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
        return pending

    def take(self, state: str) -> PendingLogin | None:
        """The login of `state`, once; None if unknown, already taken or older than `ttl`."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or self.clock() - pending.started > self.ttl:
            return None
        return pending


@dataclass(frozen=True)
class SessionCookies:
    """The gateway's two cookies; see the module doc."""

    secure: bool

    @property
    def session(self) -> str:
        return "__Host-yhteys-session" if self.secure else "yhteys-session"

    @property
    def login(self) -> str:
        return "__Host-yhteys-login" if self.secure else "yhteys-login"

    def set(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="lax")

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="lax")


@dataclass(frozen=True)
class SessionDoor:
    """The sessions, reached through a request's cookie."""

    sessions: Sessions
    cookies: SessionCookies

    def session_of(self, request: Request) -> BrowserSession | None:
        key = request.cookies.get(self.cookies.session, "")
        return self.sessions.find(key) if key else None

    async def form_of(self, request: Request) -> tuple[BrowserSession, Mapping[str, str]] | None:
        """The live session and the form `request` carries, if the form holds that session's CSRF
        token (and is a well-formed URL-encoded form); None otherwise."""
        session = self.session_of(request)
        try:
            form = await read_form(request)
        except InvalidRequest:
            return None
        return (session, form) if session is not None and csrf_matches(session, form.get("csrf", "")) else None
