"""The caller of an HTTP request: its bearer access token, or on the pages its browser session.

`authenticate(verifier, request, door, audience)` returns the caller's principal, or raises
`Unauthenticated` (401). Who may call depends on the endpoint's `Audience`:

- `API` (the FHIR path, the authorization server): `Authorization: Bearer <token>` that
  verifies, nothing else; no cookie ever authorises an API call;
- `PROFESSIONAL_PAGES` (the auditors' pages): a request with an `Authorization` header is
  judged by it alone, as on the API; without one, the live browser session of its cookie,
  if a professional is logged in there;
- `CITIZEN_PAGES` (the client's own pages): only the session of a logged-in citizen.
"""

from __future__ import annotations

from enum import StrEnum

from starlette.requests import Request

from auth.principal import CitizenPrincipal, InvalidToken, Principal, TokenVerifier
from gateway.errors import Unauthenticated
from gateway.login.sessions import SessionDoor

__all__ = ["Audience", "authenticate"]


class Audience(StrEnum):
    """Who an endpoint is for, and so how its callers authenticate."""

    API = "api"
    PROFESSIONAL_PAGES = "professional-pages"
    CITIZEN_PAGES = "citizen-pages"


def authenticate(
    verifier: TokenVerifier, request: Request, door: SessionDoor | None = None, audience: Audience = Audience.API
) -> Principal | CitizenPrincipal:
    """The principal of `request`; see the module doc."""
    header = request.headers.get("authorization")
    if audience is Audience.API or (audience is Audience.PROFESSIONAL_PAGES and header is not None):
        return _bearer(verifier, header)
    session = door.session_of(request) if door is not None else None
    if session is None:
        raise Unauthenticated("log in first: there is no session, or it has expired")
    wanted = CitizenPrincipal if audience is Audience.CITIZEN_PAGES else Principal
    if not isinstance(session.principal, wanted):
        raise Unauthenticated("this page is not open to the person logged in")
    return session.principal


def _bearer(verifier: TokenVerifier, header: str | None) -> Principal:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer access token is required")
    try:
        return verifier.authenticate(token.strip())
    except InvalidToken as exc:
        raise Unauthenticated(f"the access token is not valid: {exc.reason}") from None
