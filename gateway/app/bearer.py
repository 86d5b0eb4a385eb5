"""The caller of an HTTP request: its bearer access token, or on the pages its browser session.

`authenticate(verifier, request, door)` returns the caller's `Principal`, or raises
`Unauthenticated` (401):

- a request with an `Authorization` header is judged by it alone: `Bearer <token>` that
  verifies, else refused (the FHIR path and the audit API share this);
- with no such header, and only where the endpoint takes sessions (`door` given: the pages,
  never the FHIR path, so no cookie ever authorises an API call), the live browser session of
  its cookie, if that person acts as a principal there.
"""

from __future__ import annotations

from starlette.requests import Request

from auth.principal import InvalidToken, Principal, TokenVerifier
from gateway.errors import Unauthenticated
from gateway.login.sessions import SessionDoor

__all__ = ["authenticate"]


def authenticate(verifier: TokenVerifier, request: Request, door: SessionDoor | None = None) -> Principal:
    """The principal of `request`; see the module doc."""
    header = request.headers.get("authorization")
    if header is None and door is not None:
        session = door.session_of(request)
        if session is None:
            raise Unauthenticated("log in first: there is no session, or it has expired")
        if session.principal is None:
            raise Unauthenticated("this page is not open to the person logged in")
        return session.principal
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer access token is required")
    try:
        return verifier.authenticate(token.strip())
    except InvalidToken as exc:
        raise Unauthenticated(f"the access token is not valid: {exc.reason}") from None
