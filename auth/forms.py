"""Reading an OAuth request body: `application/x-www-form-urlencoded`, each parameter at most once.

RFC 6749 §3.2 and RFC 7662 §2.1 send parameters as a URL-encoded form; a parameter must
not be repeated. `read_form` enforces the content type, a size limit, UTF-8 and uniqueness,
and raises `InvalidRequest` for anything else, never a framework 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl

from starlette.requests import Request

from auth.errors import InvalidRequest

__all__ = ["FORM_CONTENT_TYPE", "MAX_FORM_BYTES", "read_form", "required"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 65_536
_MAX_FIELDS = 32


async def read_form(request: Request) -> Mapping[str, str]:
    """The request's form parameters; `InvalidRequest` if the body is not an acceptable form."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_CONTENT_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequest(f"the request body exceeds {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except ValueError:
        raise InvalidRequest("the request body is not a valid URL-encoded UTF-8 form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest("a parameter is repeated")
        form[name] = value
    return MappingProxyType(form)


def required(form: Mapping[str, str], name: str) -> str:
    """The non-empty value of parameter `name`; `InvalidRequest` if it is missing or empty."""
    value = form.get(name, "")
    if not value:
        raise InvalidRequest(f"the parameter {name!r} is required")
    return value
