"""The FHIR path's dispatch: what a request asks for, and which part of the proxy serves it.

`FhirProxy.serve(request, path, attempt)` runs inside the audited frame
(`gateway.app.frame`), which has authenticated the caller and records the request. It parses
the call (`gateway.proxy.call`), notes it in the `attempt`, reads the body the interaction
needs, and hands it on:

- `/metadata`: the gateway's own CapabilityStatement (public, no token);
- reads — read, vread, search (GET and POST _search, parameters allow-listed by
  `gateway.proxy.search`), instance history and follow-up pages (`_getpages` with the sealed
  cursor of a page the gateway made for this caller, and nothing else) — to `gateway.proxy.reads`;
- writes — create, update, JSON Patch and delete (If-Match required where a version exists),
  never conditional — to `gateway.proxy.writes`;
- a batch or transaction Bundle POSTed to the base to `gateway.proxy.bundles`, every entry
  authorised as if it came alone;
- the document operations (`CarePlan/<id>/$document`, `CarePlan/<id>/$receive-document`,
  `$verify-document`) to `gateway.proxy.documents`.
Every call is first checked by role on its type and interaction (`RequestContext.pre_check`),
before anything is read. Other interactions (other operations, type and system history) answer 405.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request

from gateway.access.decider import Policies
from gateway.access.subjects import patient_of
from gateway.errors import (
    BadRequest,
    MalformedBody,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    UnsupportedParameter,
)
from gateway.fhir.codes import Interaction
from gateway.fhir.media import FHIR_MEDIA_TYPES
from gateway.proxy.body import if_match_version, media_type, patch_of, read_body, resource_of, strict_json
from gateway.proxy.bundles import parse_bundle, serve_batch, serve_transaction
from gateway.proxy.call import FhirCall, parse_call
from gateway.proxy.context import RequestContext
from gateway.proxy.cursor import CursorSeal
from gateway.proxy.documents import DOCUMENT_OPERATIONS, PlanDocuments
from gateway.proxy.reads import ReadPath
from gateway.proxy.search import SearchRules
from gateway.proxy.urls import PublicUrls
from gateway.proxy.writes import WriteInput, serve_write
from gateway.served import Attempt, Served
from gateway.store.client import Upstream

__all__ = ["PAGING_PARAMS", "FhirProxy", "is_public"]

PAGING_PARAMS = frozenset({"_getpages", "_pretty", "_format"})
"""The only parameters of a follow-up page request (a GET on the base with `_getpages`): where
the page begins and how long it is are sealed in the cursor, never the caller's to set."""

_SERVED = frozenset(
    {Interaction.READ, Interaction.VREAD, Interaction.SEARCH, Interaction.HISTORY}
    | {Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE}
)
_MAX_SEARCH_BODY = 65_536


def is_public(method: str, path: str) -> bool:
    """Whether the FHIR request needs no token: only GET /metadata, as FHIR expects.

    `path` (relative to the base) may be percent-encoded or decoded: the answer is the same."""
    return method == "GET" and unquote(path).strip("/") == "metadata"


@dataclass(frozen=True)
class FhirProxy:
    """The FHIR path and everything it needs, built once at start-up.

    `store` is the HAPI client (it also reads the facts decisions rest on); `resource_types`
    those the store serves; `capabilities` the gateway's CapabilityStatement
    (`gateway.proxy.capabilities`); `cursors` seals follow-up page links; `max_body` limits
    write, Bundle and operation bodies; `documents` serves the document operations (none: 405).
    """

    store: Upstream
    policies: Policies
    search_rules: SearchRules
    resource_types: frozenset[str]
    urls: PublicUrls
    capabilities: Mapping[str, Any]
    cursors: CursorSeal
    max_body: int = 1_048_576
    documents: PlanDocuments | None = None

    async def serve(self, request: Request, path: str, attempt: Attempt) -> Served:
        """Serve `request` on FHIR path `path` (relative to the base, as sent: still
        percent-encoded, `gateway.proxy.call.fhir_path_of`); see the module doc."""
        if is_public(request.method, path):
            attempt.interaction = str(Interaction.CAPABILITIES)
            return Served(200, self.capabilities)
        context = RequestContext(attempt.caller(), self.policies, self.store, attempt)
        call = self._parse(request, path)
        attempt.interaction, attempt.resource_type, attempt.resource_id = (
            str(call.interaction),
            call.resource_type,
            call.resource_id,
        )
        attempt.touch(*call.named_clients())  # a request refused before anything is read is the client's too
        if call.interaction is Interaction.TRANSACTION:
            body = await read_body(request, self.max_body)
            kind, entries = parse_bundle(body, request.headers.get("content-type", ""), self.resource_types)
            attempt.interaction = kind
            if kind == "batch":
                return await serve_batch(context, entries, lambda call, given: self._serve_one(context, call, given))
            return await serve_transaction(context, self.store, entries)
        if call.interaction is Interaction.OPERATION:  # a document operation (`_parse` lets no other through)
            assert self.documents is not None
            if call.method != "POST":
                raise MethodNotAllowed(f"{call.operation} is invoked with POST")
            context.pre_check(call)
            body = await read_body(request, self.max_body)
            if media_type(request.headers.get("content-type")) not in FHIR_MEDIA_TYPES:
                raise UnsupportedMediaType("an operation's body must be sent as application/fhir+json")
            resource = strict_json(body)
            if not isinstance(resource, dict):
                raise MalformedBody("the body is not a FHIR resource (a JSON object with resourceType)")
            return await self.documents.serve(context, call, resource)
        if call.interaction.is_write:
            return await self._serve_one(context, call, await self._write_input(request, call, attempt))
        if call.resource_type is None and call.interaction is Interaction.SEARCH:  # a follow-up page
            token = dict(call.params)["_getpages"]
            cursor = self.cursors.open(token, context.binding())
            paged = Interaction.HISTORY if cursor.resource_id is not None else Interaction.SEARCH
            call = FhirCall("GET", paged, cursor.resource_type, cursor.resource_id, None, None, (("_getpages", token),))
            attempt.interaction, attempt.resource_type, attempt.resource_id = (
                str(paged),
                cursor.resource_type,
                cursor.resource_id,
            )
            context.pre_check(call)
            return await self._reads.serve(context, call, cursor)
        if request.method == "POST":  # _search: the parameters come in a form body too
            call = replace(call, params=call.params + await _form_params(request))
        return await self._serve_one(context, call, None)

    def _parse(self, request: Request, path: str) -> FhirCall:
        query = request.url.query
        if not path.strip("/") and request.method == "GET" and "_getpages" in dict(parse_qsl(query)):
            names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
            if not names <= PAGING_PARAMS:
                raise UnsupportedParameter("a page request carries only the paging parameters")
            return FhirCall("GET", Interaction.SEARCH, None, None, None, None, tuple(parse_qsl(query)))
        call = parse_call(request.method, path, query, self.resource_types)
        if call.interaction is Interaction.TRANSACTION and not call.params:
            return call
        if call.interaction is Interaction.OPERATION and self.documents is not None and _is_document_operation(call):
            return call
        if call.interaction not in _SERVED or (call.interaction is Interaction.HISTORY and call.resource_id is None):
            raise MethodNotAllowed(f"{call.interaction} is not served by this gateway")
        if call.interaction.is_write and call.params:
            raise UnsupportedParameter("conditional writes are not supported: they decide on data you may not see")
        return call

    @cached_property
    def _reads(self) -> ReadPath:
        return ReadPath(self.store, self.urls, self.search_rules, self.cursors)

    async def _write_input(self, request: Request, call: FhirCall, attempt: Attempt) -> WriteInput:
        content_type = request.headers.get("content-type", "")
        if_match = None
        if call.interaction is not Interaction.CREATE:
            if_match = if_match_version(request.headers.get("if-match"))
        if call.interaction is Interaction.DELETE:
            return WriteInput(if_match=if_match)
        body = await read_body(request, self.max_body)
        assert call.resource_type is not None
        if call.interaction is Interaction.PATCH:
            return WriteInput(patch=patch_of(body, content_type), if_match=if_match)
        resource = resource_of(body, content_type, call.resource_type, call.resource_id)
        client = patient_of(resource)
        if isinstance(client, str):  # the client the body names, recorded even if the write is refused
            attempt.touch(client)
        return WriteInput(resource, if_match=if_match)

    async def _serve_one(self, context: RequestContext, call: FhirCall, given: WriteInput | None) -> Served:
        """One read or write (alone, or as a batch entry)."""
        context.pre_check(call)
        if call.interaction.is_read:
            self.search_rules.check(call)
            return await self._reads.serve(context, call)
        assert given is not None
        return await serve_write(context, self.store, self.urls, call, given)


def _is_document_operation(call: FhirCall) -> bool:
    """Whether `call` is one of the document operations (on an instance, or at system level)."""
    on_instance = call.resource_type is not None and call.resource_id is not None
    at_system = call.resource_type is None and call.resource_id is None
    return (call.resource_type, call.operation) in DOCUMENT_OPERATIONS and (on_instance or at_system)


async def _form_params(request: Request) -> tuple[tuple[str, str], ...]:
    """The parameters of a POST _search body (application/x-www-form-urlencoded, ≤ 64 KiB)."""
    if media_type(request.headers.get("content-type")) != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("a _search body must be application/x-www-form-urlencoded")
    try:
        body = await read_body(request, _MAX_SEARCH_BODY)
    except PayloadTooLarge:
        raise PayloadTooLarge(f"a _search body may hold at most {_MAX_SEARCH_BODY} bytes") from None
    try:
        return tuple(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the _search body is not a valid form") from None
