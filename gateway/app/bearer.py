"""The caller of an HTTP request, from its bearer access token: the FHIR path and the audit API share it.

`authenticate(verifier, request)` returns the token's `Principal`, or raises `Unauthenticated`
(401) when there is no `Authorization: Bearer <token>` or the token does not verify.
"""

from __future__ import annotations

from starlette.requests import Request

from auth.principal import InvalidToken, Principal, TokenVerifier
from gateway.errors import Unauthenticated

__all__ = ["authenticate"]


def authenticate(verifier: TokenVerifier, request: Request) -> Principal:
    """The principal of `request`'s bearer token; see the module doc."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer access token is required")
    try:
        return verifier.authenticate(token.strip())
    except InvalidToken as exc:
        raise Unauthenticated(f"the access token is not valid: {exc.reason}") from None
