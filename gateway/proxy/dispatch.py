"""The request path of `/fhir`: authenticate → decide → forward → filter → audit.

`Pipeline.handle(request)` serves one FHIR request and always records it in the audit, allowed,
denied or failed, before the response leaves; if the audit cannot be written the answer is 503
and nothing is disclosed.

`/metadata` answers the gateway's own CapabilityStatement without a token. Everything else
needs a bearer token and is decided, for each resource, for its own client: the role policy
and that client's consent, read afresh for this request (`gateway.access.decider`).

- Reads: read, vread, search (GET and POST _search, parameters allow-listed), instance history
  and follow-up pages (`_getpages`). Resources not permitted are withheld without a trace,
  labelled parts the caller may not see are removed (`gateway.proxy.redaction`); a follow-up page is
  authorised entry by entry in the same way, so paging never bypasses a decision.
- Writes: create, update (If-Match required), JSON Patch (If-Match required) and delete
  (If-Match required), each decided and merged by `gateway.proxy.writes` before it is sent, so
  hidden parts survive and a stale version is refused.
- Batch and transaction (a Bundle POSTed to the base): every entry is authorised as if it came
  alone; a batch answers each entry on its own, a transaction is refused whole if any entry is
  refused, and otherwise sent to the store as one transaction (all or nothing).
Other interactions (operations, type and system history) answer 405.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from auth.clock import Clock, system_clock
from auth.principal import Principal, TokenVerifier
from gateway.access.consent.decider import ConsentPolicy
from gateway.access.decider import Decider
from gateway.access.policy import RolePolicy
from gateway.access.seam import AccessRequest, Effect, Reason, UnknownPatient
from gateway.access.subjects import patient_of
from gateway.app.bearer import authenticate
from gateway.audit import (
    Anonymous,
    AuditOutcome,
    AuditRecord,
    AuditSink,
    Caller,
    Disclosed,
)
from gateway.audit.record import request_id_of
from gateway.errors import (
    AuditUnavailable,
    BadRequest,
    Forbidden,
    GatewayError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthenticated,
    Unseen,
    UnsupportedMediaType,
    UnsupportedParameter,
    UpstreamFailure,
    unknown,
)
from gateway.fhir.codes import Interaction
from gateway.fhir.media import FHIR_JSON
from gateway.outcomes import error_response, outcome
from gateway.proxy.body import (
    if_match_version,
    media_type,
    patch_of,
    read_body,
    resource_of,
)
from gateway.proxy.bundles import BundleEntry, BundleKind, entry_error, parse_bundle
from gateway.proxy.call import FhirCall, parse_call
from gateway.proxy.redaction import Withheld, redact, redact_bundle
from gateway.proxy.search import SearchRules
from gateway.proxy.writes import (
    PreparedWrite,
    WriteInput,
    prepare_write,
    redacted_answer,
    send_write,
    store_refusal,
)
from gateway.served import Served
from gateway.store.client import Upstream, UpstreamResponse, sanitize_outcome

__all__ = ["PAGING_PARAMS", "Pipeline"]

PAGING_PARAMS = frozenset({"_getpages", "_getpagesoffset", "_count", "_pretty", "_bundletype", "_format"})
"""The only parameters of a follow-up page request (a GET on the base with `_getpages`)."""

_READS = frozenset({Interaction.READ, Interaction.VREAD, Interaction.SEARCH, Interaction.HISTORY})
_MAX_SEARCH_BODY = 65_536
_log = logging.getLogger("gateway.proxy.dispatch")


@dataclass
class _Context:
    """One request's authenticated caller, the deciders it used (whose clients it touched),
    and, for a Bundle, its kind (batch or transaction) for the audit."""

    principal: Principal
    deciders: list[Decider] = field(default_factory=list)
    bundle_kind: str | None = None

    def patients(self) -> tuple[str, ...]:
        return tuple(sorted({patient for decider in self.deciders for patient in decider.patients()}))

    def reasons(self) -> tuple[Reason, ...]:
        return tuple(dict.fromkeys(reason for decider in self.deciders for reason in decider.reasons()))


@dataclass(frozen=True)
class Pipeline:
    """The gateway's FHIR request path and everything it needs, built once at start-up.

    `public_base` is the gateway's FHIR base as clients see it (e.g. https://host/fhir);
    `upstream` also reads the consents and care teams decisions need;
    `capabilities` is the gateway's CapabilityStatement (`gateway.proxy.capabilities`), served at
    /metadata without a token; `max_body` limits write and Bundle bodies.
    """

    verifier: TokenVerifier
    upstream: Upstream
    role_policy: RolePolicy
    consent_policy: ConsentPolicy
    search_rules: SearchRules
    resource_types: frozenset[str]
    audit: AuditSink
    public_base: str
    capabilities: Mapping[str, Any]
    clock: Clock = system_clock
    max_body: int = 1_048_576

    async def handle(self, request: Request, path: str) -> Response:
        """Serve `request` on FHIR path `path` (relative to the base) and audit it."""
        request_id = request_id_of(request.headers.get("x-request-id"))
        caller: Caller | Anonymous = Anonymous("no bearer token")
        call: FhirCall | None = None
        context: _Context | None = None
        try:
            if request.method == "GET" and path.strip("/") == "metadata":  # public, as FHIR expects
                call = parse_call("GET", "metadata", "", self.resource_types)
                served = Served(200, self.capabilities)
            else:
                context = _Context(authenticate(self.verifier, request))
                caller = Caller.of(context.principal)
                call = self._parse(request, path)
                served = await self._serve_request(context, call, request)
        except GatewayError as error:
            served = Served.failed(error, context.patients() if context else ())
            if isinstance(error, Unauthenticated):
                caller = Anonymous(error.message)
        except Exception:
            _log.exception("request %s failed", request_id)
            body = outcome("fatal", "exception", "the gateway failed to process the request")
            served = Served(500, body, patients=context.patients() if context else (), effect=Effect.DENY)
        record = AuditRecord(
            request_id=request_id,
            recorded_at=datetime.fromtimestamp(self.clock(), UTC),
            caller=caller,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            interaction=(context and context.bundle_kind) or (str(call.interaction) if call else "unknown"),
            resource_type=call.resource_type if call else None,
            patients=served.patients,
            effect=served.effect,
            reasons=served.reasons,
            status=served.status,
            outcome=_outcome(served),
            resource_id=call.resource_id if call else None,
            disclosed=_disclosed(served) if call and call.interaction is not Interaction.CAPABILITIES else (),
            source_address=request.client.host if request.client else None,
        )
        try:
            await self.audit.record(record)
        except AuditUnavailable as error:
            return error_response(error)
        response = served.as_response()
        response.headers["X-Request-Id"] = request_id
        return response

    # -- authenticate and parse --------------------------------------------------------------

    def _parse(self, request: Request, path: str) -> FhirCall:
        query = request.url.query
        if not path.strip("/") and request.method == "GET" and "_getpages" in dict(parse_qsl(query)):
            names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
            if not names <= PAGING_PARAMS:
                raise UnsupportedParameter("a page request carries only the paging parameters")
            return FhirCall("GET", Interaction.SEARCH, None, None, None, None, tuple(parse_qsl(query)))
        call = parse_call(request.method, path, query, self.resource_types)
        served = _READS | {Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE}
        if call.interaction is Interaction.TRANSACTION and not call.params:
            return call
        if call.interaction not in served or (call.interaction is Interaction.HISTORY and call.resource_id is None):
            raise MethodNotAllowed(f"{call.interaction} is not served by this gateway")
        if call.interaction.is_write and call.params:
            raise UnsupportedParameter("conditional writes are not supported: they decide on data you may not see")
        return call

    async def _serve_request(self, context: _Context, call: FhirCall, request: Request) -> Served:
        """Read the request's body as its interaction needs, then serve it."""
        if call.interaction is Interaction.TRANSACTION:
            body = await read_body(request, self.max_body)
            kind, entries = parse_bundle(body, request.headers.get("content-type", ""), self.resource_types)
            context.bundle_kind = kind
            return await self._serve_bundle(context, kind, entries)
        if call.interaction.is_write:
            return await self._serve_one(context, call, await self._write_input(request, call))
        if request.method == "POST":  # _search: the parameters come in a form body too
            call = replace(call, params=call.params + await _form_params(request))
        return await self._serve_one(context, call, None)

    async def _write_input(self, request: Request, call: FhirCall) -> WriteInput:
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
        return WriteInput(resource_of(body, content_type, call.resource_type, call.resource_id), if_match=if_match)

    # -- decide, forward, filter --------------------------------------------------------------

    async def _serve_one(self, context: _Context, call: FhirCall, given: WriteInput | None) -> Served:
        """One read or write (alone, or as a batch entry)."""
        self._pre_check(context.principal, call)
        if call.interaction in _READS:
            if call.resource_type is not None:  # a follow-up page was checked when parsed
                self.search_rules.check(call)
            return await self._serve_read(context, call)
        assert given is not None
        decider = self._decider(context, call.interaction)
        prepared = await prepare_write(call, given, decider, self.upstream)
        answer = await send_write(self.upstream, prepared)
        if answer.status >= 400:
            return _passthrough(answer, decider.patients())
        shown = redacted_answer(answer, prepared)
        return Served(answer.status, shown, self._headers(answer), decider.patients(), Effect.PERMIT, decider.reasons())

    def _pre_check(self, principal: Principal, call: FhirCall) -> None:
        """The type and interaction, decided before anything is read.

        The caller is taken to be the client's personal worker here, the most it could be: if
        even that is refused, nothing is read. The real role is derived per client afterwards.
        """
        if call.resource_type is None:
            return
        first = self.role_policy.check(
            AccessRequest.of(
                principal,
                call.interaction,
                call.resource_type,
                patient=UnknownPatient("not read yet"),
                personal_worker=True,
            )
        )
        if first.effect is not Effect.PERMIT:
            raise Forbidden("access denied", first.reasons)

    async def _serve_read(self, context: _Context, call: FhirCall) -> Served:
        path = _upstream_path(call)
        answer = await self.upstream.send("GET", path, params=call.params, headers={"Accept": FHIR_JSON})
        if answer.status in (404, 410) and call.resource_id is not None:
            raise NotFound(unknown(path))  # the gateway's own words: the same as for a hidden one
        if answer.status != 200:
            return _passthrough(answer)
        body = answer.json()
        if not isinstance(body, dict):
            raise UpstreamFailure("the FHIR store answered with something that is not a resource")
        decider = self._decider(context, call.interaction)
        if body.get("resourceType") == "Bundle":
            entries = [e.get("resource") for e in body.get("entry", []) if isinstance(e, dict)]
            await decider.read_consents([r for r in entries if isinstance(r, dict)])
            shown = self._public_urls(redact_bundle(body, decider.hidden_for))
            return Served(200, shown, self._headers(answer), decider.patients(), Effect.PERMIT, decider.reasons())
        await decider.read_consents([body])
        decision = decider.decide(body)
        if decision.effect is not Effect.PERMIT:
            raise Forbidden("access denied", decision.reasons)
        redacted = redact(body, decision.redactions.hidden)
        if isinstance(redacted, Withheld):
            raise Unseen(unknown(path), decision.reasons)
        return Served(200, redacted, self._headers(answer), decider.patients(), Effect.PERMIT, decision.reasons)

    async def _serve_bundle(
        self, context: _Context, kind: BundleKind, entries: list[BundleEntry | GatewayError]
    ) -> Served:
        if kind == "batch":
            results = [await self._serve_entry(context, entry) for entry in entries]
            bundle = {"resourceType": "Bundle", "type": "batch-response", "entry": [r.as_entry() for r in results]}
            return Served(200, bundle, {}, context.patients(), Effect.PERMIT, context.reasons())
        return await self._serve_transaction(context, entries)

    async def _serve_entry(self, context: _Context, entry: BundleEntry | GatewayError) -> Served:
        if isinstance(entry, GatewayError):
            return Served.failed(entry)
        try:
            return await self._serve_one(context, entry.call, entry.given)
        except GatewayError as error:
            return Served.failed(entry_error(entry.position, error))

    async def _serve_transaction(self, context: _Context, entries: list[BundleEntry | GatewayError]) -> Served:
        """Decide every entry, then send them as one transaction; any refusal refuses all."""
        decider = self._decider(context, Interaction.TRANSACTION)
        prepared: list[tuple[BundleEntry, PreparedWrite]] = []
        touched: set[str] = set()
        for entry in entries:
            if isinstance(entry, GatewayError):
                raise entry
            try:
                if not entry.call.interaction.is_write:
                    raise BadRequest(
                        "a transaction holds only writes (create, update, patch, delete); send reads in a batch"
                    )
                self._pre_check(context.principal, entry.call)
                assert entry.given is not None
                write = await prepare_write(entry.call, entry.given, decider, self.upstream)
                if write.method != "POST" and write.path in touched:
                    raise BadRequest(f"{write.path} appears in more than one entry")
            except GatewayError as error:
                raise entry_error(entry.position, error) from None
            touched.add(write.path)
            prepared.append((entry, write))
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [self._store_entry(e, w) for e, w in prepared],
        }
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"}
        answer = await self.upstream.send(
            "POST", "", headers=headers, content=json.dumps(bundle, ensure_ascii=False).encode()
        )
        if answer.status == 409:
            raise PreconditionFailed(
                "a resource of the transaction was changed by someone else meanwhile; nothing was written"
            )
        if answer.status != 200:
            return _passthrough(store_refusal(answer), decider.patients())
        stored = answer.json()
        responses = (
            [e.get("response") for e in stored.get("entry", []) if isinstance(e, dict)]
            if isinstance(stored, dict)
            else []
        )
        result = {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [{"response": _entry_response(r)} for r in responses if isinstance(r, dict)],
        }
        return Served(200, result, {}, decider.patients(), Effect.PERMIT, decider.reasons())

    def _store_entry(self, entry: BundleEntry, write: PreparedWrite) -> dict[str, Any]:
        request: dict[str, Any] = {"method": write.method, "url": write.path}
        if write.version is not None and write.method == "PUT":
            request["ifMatch"] = f'W/"{write.version}"'
        stored: dict[str, Any] = {"request": request}
        if write.resource is not None:
            stored["resource"] = write.resource
            urn = entry.full_url if entry.full_url and entry.full_url.startswith("urn:uuid:") else None
            stored["fullUrl"] = urn if write.method == "POST" and urn else f"{self.upstream.base_url}/{write.path}"
        return stored

    def _decider(self, context: _Context, interaction: Interaction) -> Decider:
        """A decider for (part of) the request of `context`, remembered there for the audit."""
        decider = Decider(context.principal, self.role_policy, self.consent_policy, self.upstream, interaction)
        context.deciders.append(decider)
        return decider

    def _headers(self, answer: UpstreamResponse) -> dict[str, str]:
        """The store's headers a client may see, with the store's URLs made the gateway's."""
        headers = {name: answer.headers[name] for name in ("etag", "last-modified") if name in answer.headers}
        for name in ("location", "content-location"):
            if name in answer.headers:
                headers[name] = self._public_url(answer.headers[name])
        return headers

    def _public_urls(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """The bundle with the store's base replaced by the gateway's in links and fullUrls."""
        for link in bundle.get("link", []):
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                link["url"] = self._public_url(link["url"])
        for entry in bundle.get("entry", []):
            if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
                entry["fullUrl"] = self._public_url(entry["fullUrl"])
        return bundle

    def _public_url(self, url: str) -> str:
        base = self.upstream.base_url
        if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
            return self.public_base.rstrip("/") + url[len(base) :]
        return url


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


def _upstream_path(call: FhirCall) -> str:
    path = "/".join(p for p in (call.resource_type, call.resource_id) if p)
    if call.version_id:
        return f"{path}/_history/{call.version_id}"
    if call.interaction is Interaction.HISTORY:
        return f"{path}/_history"
    return path


def _entry_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction-response entry's response without the store's outcome (it names internals)."""
    return {key: response[key] for key in ("status", "location", "etag", "lastModified") if key in response}


def _passthrough(answer: UpstreamResponse, patients: tuple[str, ...] = ()) -> Served:
    """A 4xx of the store, passed on as a sanitized OperationOutcome."""
    try:
        body = answer.json()
    except GatewayError:
        body = {}
    return Served(answer.status, sanitize_outcome(body if isinstance(body, dict) else {}), {}, patients)


def _disclosed(served: Served) -> tuple[Disclosed, ...]:
    """The resources a successful answer carries (a Bundle's entries, or the resource itself)."""
    if served.status >= 400 or not isinstance(served.body, Mapping):
        return ()
    body = served.body
    entries = body.get("entry") if body.get("resourceType") == "Bundle" else [{"resource": body}]
    found = []
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and isinstance(resource.get("id"), str):
            version = resource.get("meta", {}).get("versionId") if isinstance(resource.get("meta"), Mapping) else None
            reference = f"{resource.get('resourceType')}/{resource['id']}" + (f"/_history/{version}" if version else "")
            patient = patient_of(resource)
            found.append(Disclosed(reference, patient if isinstance(patient, str) else None))
    return tuple(found)


def _outcome(served: Served) -> AuditOutcome:
    """Denied: no or bad token, or refused by a decision (also when answered 404); else by status."""
    if served.status < 400:
        return AuditOutcome.SUCCESS
    if served.status in (401, 403) or (served.effect is Effect.DENY and served.reasons):
        return AuditOutcome.DENIED
    return AuditOutcome.FAILED
