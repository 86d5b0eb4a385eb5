"""The body and preconditions of a write, checked before anything is read or decided.

- `read_body(request, limit)`: the raw body, at most `limit` bytes (`PayloadTooLarge`; a
  Content-Length over the limit is refused before reading).
- `resource_of(body, media_type, resource_type, resource_id)`: a FHIR JSON resource of the
  URL's type; for an update its `id` must equal the URL's (`IdMismatch`); for a create an
  `id` is dropped, as FHIR says the server ignores it. JSON that is not strict (NaN,
  Infinity, duplicate keys) is refused: the store's parser could read it differently.
- `patch_of(body, media_type)`: a JSON Patch (RFC 6902) document.
- `if_match_version(value)`: the version named by an If-Match header (`W/"3"` or `"3"`);
  none → `PreconditionRequired` (428), malformed → `BadRequest`.

Media types: a resource is `application/fhir+json` (or `application/json`), a patch
`application/json-patch+json`; anything else is `UnsupportedMediaType` (415). Every failure
is a `gateway.errors` error: the caller answers with its OperationOutcome and writes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonpatch
from starlette.requests import Request

from gateway.errors import (
    BadRequest,
    IdMismatch,
    MalformedBody,
    PayloadTooLarge,
    PreconditionRequired,
    UnsupportedMediaType,
)
from gateway.fhir.ids import ID
from gateway.fhir.media import FHIR_MEDIA_TYPES, JSON_PATCH

__all__ = ["checked_resource", "if_match_version", "media_type", "patch_of", "read_body", "resource_of", "strict_json"]

_ETAG = re.compile(rf'(?:W/)?"({ID})"')


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower-case, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body may hold at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body may hold at most {limit} bytes")
    return bytes(body)


def resource_of(body: bytes, content_type: str, resource_type: str, resource_id: str | None) -> dict[str, Any]:
    """The resource in `body` for a write on `resource_type` (`resource_id` for an update)."""
    if media_type(content_type) not in FHIR_MEDIA_TYPES:
        raise UnsupportedMediaType("a resource must be sent as application/fhir+json")
    return checked_resource(strict_json(body), resource_type, resource_id)


def checked_resource(resource: object, resource_type: str, resource_id: str | None) -> dict[str, Any]:
    """`resource` (parsed JSON) if it is a resource fit for a write on the URL; see `resource_of`."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise MalformedBody("the body is not a FHIR resource (a JSON object with resourceType)")
    if resource["resourceType"] != resource_type:
        raise BadRequest(f"the body is a {resource['resourceType'][:70]}, the URL names {resource_type}")
    if resource_id is None:
        resource.pop("id", None)
    elif resource.get("id") != resource_id:
        raise IdMismatch("the body's id must equal the id in the URL")
    return resource


def patch_of(body: bytes, content_type: str) -> jsonpatch.JsonPatch:
    """The JSON Patch in `body`; its operations are checked when applied."""
    if media_type(content_type) != JSON_PATCH:
        raise UnsupportedMediaType(f"a patch must be sent as {JSON_PATCH} (JSON Patch)")
    operations = strict_json(body)
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise MalformedBody("a JSON Patch is a JSON array of operation objects")
    try:
        return jsonpatch.JsonPatch(operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise MalformedBody(f"the JSON Patch is not valid: {exc}") from None


def if_match_version(value: str | None) -> str:
    """The version an If-Match header names; see the module doc."""
    if value is None or not value.strip():
        raise PreconditionRequired(
            'changing a shared resource needs If-Match with the version you read (W/"<version>")'
        )
    match = _ETAG.fullmatch(value.strip())
    if match is None:
        raise BadRequest('If-Match must name one version, as W/"<version>"')
    return match.group(1)


def strict_json(body: bytes) -> Any:
    """`body` parsed as strict JSON (UTF-8, no NaN or Infinity, no duplicate keys)."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise MalformedBody("the body is not valid JSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key[:70]!r} appears twice in one object")
        result[key] = value
    return result
