"""Batch and transaction Bundles: each entry read as the request it stands for.

`parse_bundle(body, content_type, resource_types)` reads a `batch` or `transaction` Bundle
(POSTed to the FHIR base) into its kind and one item per entry: a `BundleEntry` — the entry's
`FhirCall` and, for a write, its `WriteInput` — or the `GatewayError` that entry is refused
with. The request path then authorises every entry as if it had come alone (see
`gateway.proxy.dispatch`); in a batch a refused entry gets its own error response, a transaction
with any refused entry is refused whole; its decided writes are recorded as intended in the
audit trail before the transaction is sent.

An entry is `request.method` + `request.url` relative to the base. Supported: reads (read,
vread, search; in batches only) and create, update, JSON Patch (a Binary of
`application/json-patch+json`, as FHIR R4 carries patches in Bundles) and delete, with
`request.ifMatch` where a single request needs If-Match. In a transaction, an entry may
reference another entry's create by that entry's `urn:uuid:` fullUrl, and by nothing else
that the store would have to resolve (`gateway.proxy.references`). Conditional interactions
(`ifNoneExist`, `ifNoneMatch`, `ifModifiedSince`, a search URL on PUT, PATCH or DELETE) and
operations are refused: they decide on data the caller may not see. At most `MAX_ENTRIES`
entries. `entry_error(position, error)` names the entry (`Bundle.entry[i]`) in an error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jsonpatch

from gateway.access.seam import Effect, Withheld
from gateway.errors import (
    BadRequest,
    GatewayError,
    MalformedBody,
    PreconditionFailed,
    UnsupportedMediaType,
    UnsupportedParameter,
    UpstreamFailure,
)
from gateway.fhir.codes import Interaction
from gateway.fhir.media import FHIR_JSON, FHIR_MEDIA_TYPES
from gateway.proxy.body import checked_resource, if_match_version, media_type, patch_of, strict_json
from gateway.proxy.call import FhirCall, parse_call
from gateway.proxy.context import RequestContext
from gateway.proxy.history import as_seen, seen_response
from gateway.proxy.reads import passthrough
from gateway.proxy.redaction import redact
from gateway.proxy.writes import PreparedWrite, WriteInput, prepare_write, store_refusal
from gateway.served import Served
from gateway.store.client import Upstream

__all__ = [
    "MAX_ENTRIES",
    "BundleEntry",
    "BundleKind",
    "ServeOne",
    "entry_error",
    "parse_bundle",
    "serve_batch",
    "serve_transaction",
]

MAX_ENTRIES = 200
BundleKind = Literal["batch", "transaction"]

_ENTRY_INTERACTIONS = frozenset(
    {Interaction.READ, Interaction.VREAD, Interaction.SEARCH, Interaction.CREATE, Interaction.UPDATE,
     Interaction.PATCH, Interaction.DELETE}
)  # fmt: skip
_CONDITIONAL = ("ifNoneExist", "ifNoneMatch", "ifModifiedSince")


@dataclass(frozen=True)
class BundleEntry:
    """One entry: its position, fullUrl (kept for a create's urn:uuid), call and write input."""

    position: int
    full_url: str | None
    call: FhirCall
    given: WriteInput | None


def parse_bundle(
    body: bytes, content_type: str, resource_types: frozenset[str]
) -> tuple[BundleKind, list[BundleEntry | GatewayError]]:
    """The Bundle's kind and its entries; raise for a body that is no batch or transaction."""
    if media_type(content_type) not in FHIR_MEDIA_TYPES:
        raise UnsupportedMediaType("a Bundle must be sent as application/fhir+json")
    bundle = strict_json(body)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise MalformedBody("a POST to the FHIR base must carry a Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise BadRequest("a Bundle POSTed to the base must be of type batch or transaction")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise MalformedBody("Bundle.entry must be a list")
    if len(entries) > MAX_ENTRIES:
        raise BadRequest(f"a {kind} may hold at most {MAX_ENTRIES} entries")
    items: list[BundleEntry | GatewayError] = []
    for position, entry in enumerate(entries):
        try:
            items.append(_entry(position, entry, resource_types))
        except GatewayError as error:
            items.append(entry_error(position, error))
    return ("batch" if kind == "batch" else "transaction"), items


def entry_error(position: int, error: GatewayError) -> GatewayError:
    """`error` with its message prefixed by the entry's position; same class, status and reasons."""
    return type(error)(f"Bundle.entry[{position}]: {error.message}", error.reasons)


def _entry(position: int, entry: object, resource_types: frozenset[str]) -> BundleEntry:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("request"), Mapping):
        raise MalformedBody("an entry needs a request (method and url)")
    request: Mapping[str, Any] = entry["request"]
    method, url = request.get("method"), request.get("url")
    path, _, query = url.lstrip("/").partition("?") if isinstance(url, str) else ("", "", "")
    if not isinstance(method, str) or not isinstance(url, str) or not url or ":" in path:
        raise MalformedBody("request.method and a request.url relative to the base are required")
    if any(request.get(name) for name in _CONDITIONAL):
        raise UnsupportedParameter("conditional interactions are not supported: they decide on data you may not see")
    call = parse_call(method, path, query, resource_types)
    if call.interaction not in _ENTRY_INTERACTIONS or call.operation:
        raise BadRequest(f"{call.interaction} is not supported in a Bundle entry")
    if call.interaction.is_write and call.params:
        raise UnsupportedParameter("conditional interactions are not supported: they decide on data you may not see")
    full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
    return BundleEntry(position, full_url, call, _write_input(call, entry, request))


def _write_input(call: FhirCall, entry: Mapping[str, Any], request: Mapping[str, Any]) -> WriteInput | None:
    if not call.interaction.is_write:
        return None
    assert call.resource_type is not None
    if_match = None
    if call.interaction is not Interaction.CREATE:
        value = request.get("ifMatch")
        if_match = if_match_version(value if isinstance(value, str) else None)
    resource = entry.get("resource")
    if call.interaction in (Interaction.CREATE, Interaction.UPDATE):
        return WriteInput(resource=checked_resource(resource, call.resource_type, call.resource_id), if_match=if_match)
    if call.interaction is Interaction.PATCH:
        return WriteInput(patch=_binary_patch(resource), if_match=if_match)
    return WriteInput(if_match=if_match)


def _binary_patch(resource: object) -> jsonpatch.JsonPatch:
    """The JSON Patch carried by a Binary entry resource."""
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Binary":
        raise MalformedBody("a PATCH entry carries its JSON Patch as a Binary resource")
    content_type, data = resource.get("contentType"), resource.get("data")
    if not isinstance(content_type, str) or not isinstance(data, str):
        raise MalformedBody("the Binary needs contentType and data")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedBody("the Binary's data is not base64") from None
    return patch_of(decoded, content_type)


ServeOne = Callable[[FhirCall, WriteInput | None], Awaitable[Served]]
"""How the request path serves one entry as if it had come alone."""


async def serve_batch(
    context: RequestContext, entries: list[BundleEntry | GatewayError], serve_one: ServeOne
) -> Served:
    """A batch-response: each entry served alone by `serve_one`, refusals as their own entries."""
    results = [await _batch_entry(entry, serve_one) for entry in entries]
    bundle = {"resourceType": "Bundle", "type": "batch-response", "entry": [r.as_entry() for r in results]}
    return Served(200, bundle, {}, context.patients(), Effect.PERMIT, context.reasons())


async def serve_transaction(
    context: RequestContext, store: Upstream, entries: list[BundleEntry | GatewayError]
) -> Served:
    """Decide every entry, then send them as one transaction; any refusal refuses all."""
    prepared: list[tuple[BundleEntry, PreparedWrite]] = []
    touched: set[str] = set()
    local = frozenset(
        entry.full_url
        for entry in entries
        if isinstance(entry, BundleEntry)
        and entry.call.interaction is Interaction.CREATE
        and entry.full_url is not None
        and entry.full_url.startswith("urn:uuid:")
    )
    for entry in entries:
        if isinstance(entry, GatewayError):
            raise entry
        try:
            if not entry.call.interaction.is_write:
                raise BadRequest(
                    "a transaction holds only writes (create, update, patch, delete); send reads in a batch"
                )
            context.pre_check(entry.call)
            assert entry.given is not None
            write = await prepare_write(entry.call, entry.given, context, store, local)
            if write.method != "POST" and write.path in touched:
                raise BadRequest(f"{write.path} appears in more than one entry")
        except GatewayError as error:
            raise entry_error(entry.position, error) from None
        touched.add(write.path)
        prepared.append((entry, write))
    stored_entries = [_store_entry(store.base_url, entry, write) for entry, write in prepared]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": stored_entries}
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=representation"}
    await context.intend(*(write.describe() for _, write in prepared))
    answer = await store.send("POST", "", headers=headers, content=json.dumps(bundle, ensure_ascii=False).encode())
    if answer.status == 409:
        raise PreconditionFailed(
            "a resource of the transaction was changed by someone else meanwhile; nothing was written"
        )
    if answer.status != 200:
        return passthrough(store_refusal(answer), context.patients())
    stored = answer.json()
    results = [e for e in stored.get("entry", []) if isinstance(e, dict)] if isinstance(stored, dict) else []
    if len(results) != len(prepared):
        raise UpstreamFailure("the FHIR store answered the transaction with another number of entries")
    responses = [
        await _response(context, store, write, result) for (_, write), result in zip(prepared, results, strict=True)
    ]
    result = {"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": r} for r in responses]}
    return Served(200, result, {}, context.patients(), Effect.PERMIT, context.reasons())


async def _batch_entry(entry: BundleEntry | GatewayError, serve_one: ServeOne) -> Served:
    if isinstance(entry, GatewayError):
        return Served.failed(entry)
    try:
        return await serve_one(entry.call, entry.given)
    except GatewayError as error:
        return Served.failed(entry_error(entry.position, error))


def _store_entry(store_base: str, entry: BundleEntry, write: PreparedWrite) -> dict[str, Any]:
    request: dict[str, Any] = {"method": write.method, "url": write.path}
    if write.version is not None and write.method == "PUT":
        request["ifMatch"] = f'W/"{write.version}"'
    stored: dict[str, Any] = {"request": request}
    if write.resource is not None:
        stored["resource"] = write.resource
        urn = entry.full_url if entry.full_url and entry.full_url.startswith("urn:uuid:") else None
        stored["fullUrl"] = urn if write.method == "POST" and urn else f"{store_base}/{write.path}"
    return stored


async def _response(
    context: RequestContext, store: Upstream, write: PreparedWrite, stored: Mapping[str, Any]
) -> dict[str, Any]:
    """The response of one entry of a transaction as the caller may see it: without the store's
    outcome (it names internals), naming the version the caller sees
    (`gateway.proxy.history.seen_response`); the store's resource is not passed on."""
    response = stored.get("response")
    resource = stored.get("resource")
    view = redact(resource, write.hidden) if isinstance(resource, dict) else None
    if isinstance(view, Withheld):
        view = None
    if view is not None and isinstance(resource, dict):
        view = await as_seen(context, store, resource, view, write.hidden)
    return seen_response(response if isinstance(response, Mapping) else {}, write.path.split("/")[0], view)
