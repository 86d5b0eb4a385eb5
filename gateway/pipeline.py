"""The request path of `/fhir`: authenticate → decide → forward → filter → audit.

`Pipeline.handle(request)` serves one FHIR request and always records it in the audit, allowed,
denied or failed, before the response leaves; if the audit cannot be written the answer is 503
and nothing is disclosed.

`/metadata` answers the gateway's own CapabilityStatement without a token. This stage serves
reads: read, vread, search (GET and POST _search, with its parameters
allow-listed), instance history, and follow-up pages (`_getpages`). Every other interaction is
refused with 405 until the write path lands. Each returned resource is decided on its own,
for its own client: the role policy and that client's consent, read afresh for this request
(`gateway.access.combine`); resources not permitted are withheld without a trace, labelled
parts the caller may not see are removed (`gateway.redaction`). A follow-up page is
authorised entry by entry in the same way, so paging never bypasses a decision.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.clock import Clock, system_clock
from auth.principal import InvalidToken, Principal, TokenVerifier
from gateway.access import AccessDecision, AccessRequest, Effect, Interaction, Label, Reason, UnknownPatient, combine
from gateway.audit import Anonymous, AuditOutcome, AuditRecord, AuditSink, Caller
from gateway.consent import ConsentPolicy, ConsentsRead, ConsentUnreadable
from gateway.consentread import read_consents
from gateway.errors import (
    AuditUnavailable,
    BadRequest,
    Forbidden,
    GatewayError,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    UnsupportedParameter,
    UpstreamFailure,
)
from gateway.fhircall import FhirCall, parse_call
from gateway.labels import resource_labels
from gateway.outcomes import FHIR_JSON, error_response, outcome
from gateway.policy import RolePolicy
from gateway.redaction import Withheld, redact, redact_bundle
from gateway.searchparams import SearchRules
from gateway.subjects import NoClient, patient_of
from gateway.upstream import Upstream, UpstreamResponse, sanitize_outcome

__all__ = ["Pipeline", "PAGING_PARAMS"]

PAGING_PARAMS = frozenset({"_getpages", "_getpagesoffset", "_count", "_pretty", "_bundletype", "_format"})
"""The only parameters of a follow-up page request (a GET on the base with `_getpages`)."""

_READS = frozenset({Interaction.READ, Interaction.VREAD, Interaction.SEARCH, Interaction.HISTORY})
_MAX_SEARCH_BODY = 65_536
_log = logging.getLogger("gateway.pipeline")


@dataclass(frozen=True)
class _Served:
    """What a request came to: the response, the clients it touched, the decisive reasons."""

    response: Response
    patients: tuple[str, ...]
    effect: Effect
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Pipeline:
    """The gateway's FHIR request path and everything it needs, built once at start-up.

    `public_base` is the gateway's FHIR base as clients see it (e.g. https://host/fhir);
    `consent_client` reads consents from the store at `upstream.base_url`; `capabilities` is
    the gateway's CapabilityStatement (`gateway.capabilities`), served at /metadata without
    a token.
    """

    verifier: TokenVerifier
    upstream: Upstream
    consent_client: httpx.AsyncClient
    role_policy: RolePolicy
    consent_policy: ConsentPolicy
    search_rules: SearchRules
    resource_types: frozenset[str]
    audit: AuditSink
    public_base: str
    capabilities: Mapping[str, Any]
    clock: Clock = system_clock

    async def handle(self, request: Request, path: str) -> Response:
        """Serve `request` on FHIR path `path` (relative to the base) and audit it."""
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        caller: Caller | Anonymous = Anonymous("no bearer token")
        call: FhirCall | None = None
        try:
            if request.method == "GET" and path.strip("/") == "metadata":  # public, as FHIR expects
                call = parse_call("GET", "metadata", "", self.resource_types)
                served = _Served(JSONResponse(dict(self.capabilities), media_type=FHIR_JSON), (), Effect.PERMIT, ())
            else:
                principal = self._authenticate(request)
                caller = Caller.of(principal)
                call = await self._parse(request, path)
                served = await self._serve(principal, call)
        except GatewayError as error:
            served = _Served(error_response(error), (), Effect.DENY, error.reasons)
            if isinstance(error, Unauthenticated):
                caller = Anonymous(error.message)
        except Exception:
            _log.exception("request %s failed", request_id)
            body = outcome("fatal", "exception", "the gateway failed to process the request")
            served = _Served(JSONResponse(body, 500, media_type=FHIR_JSON), (), Effect.DENY, ())
        record = AuditRecord(
            request_id=request_id,
            recorded_at=datetime.fromtimestamp(self.clock(), UTC),
            caller=caller,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            interaction=str(call.interaction) if call else "unknown",
            resource_type=call.resource_type if call else None,
            patients=served.patients,
            effect=served.effect,
            reasons=served.reasons,
            status=served.response.status_code,
            outcome=_outcome(served.response.status_code),
        )
        try:
            await self.audit.record(record)
        except AuditUnavailable as error:
            return error_response(error)
        served.response.headers["X-Request-Id"] = request_id
        return served.response

    # -- authenticate -----------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer access token is required")
        try:
            return self.verifier.authenticate(token.strip())
        except InvalidToken as exc:
            raise Unauthenticated(f"the access token is not valid: {exc.reason}") from None

    async def _parse(self, request: Request, path: str) -> FhirCall:
        query = request.url.query
        if not path.strip("/") and request.method == "GET" and "_getpages" in dict(parse_qsl(query)):
            names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
            if not names <= PAGING_PARAMS:
                raise UnsupportedParameter("a page request carries only the paging parameters")
            return FhirCall("GET", Interaction.SEARCH, None, None, None, None, tuple(parse_qsl(query)))
        call = parse_call(request.method, path, query, self.resource_types)
        if call.interaction not in _READS or (call.interaction is Interaction.HISTORY and call.resource_id is None):
            raise MethodNotAllowed(f"{call.interaction} is not served by this gateway yet")
        if request.method == "POST":  # _search: the parameters come in a form body too
            call = replace(call, params=call.params + await _form_params(request))
        self.search_rules.check(call)
        return call

    # -- decide, forward, filter --------------------------------------------------------------

    async def _serve(self, principal: Principal, call: FhirCall) -> _Served:
        if call.resource_type is not None:  # the type and interaction, before anything is read
            first = self.role_policy.check(
                AccessRequest.of(principal, call.interaction, call.resource_type, patient=UnknownPatient("not read yet"))
            )
            if first.effect is not Effect.PERMIT:
                raise Forbidden("access denied", first.reasons)
        answer = await self.upstream.send("GET", _upstream_path(call), params=call.params, headers={"Accept": FHIR_JSON})
        if answer.status != 200:
            return _Served(_passthrough(answer), (), Effect.PERMIT, ())
        body = answer.json()
        if not isinstance(body, dict):
            raise UpstreamFailure("the FHIR store answered with something that is not a resource")
        decider = _Decider(self, principal, call.interaction)
        if body.get("resourceType") == "Bundle":
            entries = [e.get("resource") for e in body.get("entry", []) if isinstance(e, dict)]
            await decider.read_consents([r for r in entries if isinstance(r, dict)])
            shown = self._public_urls(redact_bundle(body, decider.hidden_for))
            return _Served(_json(shown, answer), decider.patients(), Effect.PERMIT, decider.reasons())
        await decider.read_consents([body])
        decision = decider.decide(body)
        if decision.effect is not Effect.PERMIT:
            raise Forbidden("access denied", decision.reasons)
        redacted = redact(body, decision.redactions.hidden)
        if isinstance(redacted, Withheld):
            raise Forbidden("access denied: the resource carries a label you may not see", decision.reasons)
        return _Served(_json(redacted, answer), decider.patients(), Effect.PERMIT, decision.reasons)

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
            return self.public_base.rstrip("/") + url[len(base):]
        return url


class _Decider:
    """Decisions for the resources of one response; each client's consents read once, now."""

    def __init__(self, pipeline: Pipeline, principal: Principal, interaction: Interaction) -> None:
        self._pipeline = pipeline
        self._principal = principal
        self._interaction = interaction
        self._on_file: dict[str, ConsentsRead] = {}
        self._reasons: dict[Reason, None] = {}

    async def read_consents(self, resources: list[dict[str, Any]]) -> None:
        """Read the consents of every client these resources belong to (once per client)."""
        pipeline = self._pipeline
        for resource in resources:
            patient = patient_of(resource)
            if isinstance(patient, str) and patient not in self._on_file:
                self._on_file[patient] = await read_consents(
                    pipeline.consent_client, pipeline.upstream.base_url, patient
                )

    def decide(self, resource: Mapping[str, Any]) -> AccessDecision:
        """Role policy and the client's consent, combined; the caller read consents first."""
        patient = patient_of(resource)
        rtype = resource.get("resourceType")
        request = AccessRequest.of(
            self._principal,
            self._interaction,
            rtype if isinstance(rtype, str) else None,
            patient=patient if isinstance(patient, (str, UnknownPatient)) else UnknownPatient("no client"),
            resource_id=resource.get("id") if isinstance(resource.get("id"), str) else None,
            labels=resource_labels(resource),
        )
        role = self._pipeline.role_policy.check(request)
        if isinstance(patient, NoClient):
            decision = combine(role)
        else:
            on_file = self._on_file.get(patient) if isinstance(patient, str) else None
            consent = self._pipeline.consent_policy.check(request, on_file or _UNREADABLE)
            decision = combine(role, consent)
        self._reasons.update(dict.fromkeys(decision.reasons))
        return decision

    def hidden_for(self, resource: Mapping[str, Any]) -> frozenset[Label] | Withheld:
        decision = self.decide(resource)
        if decision.effect is not Effect.PERMIT:
            return Withheld(frozenset())
        return decision.redactions.hidden

    def patients(self) -> tuple[str, ...]:
        return tuple(sorted(self._on_file))

    def reasons(self) -> tuple[Reason, ...]:
        return tuple(self._reasons)


_UNREADABLE = ConsentUnreadable("the resource names no client whose consent could be read")


async def _form_params(request: Request) -> tuple[tuple[str, str], ...]:
    """The parameters of a POST _search body (application/x-www-form-urlencoded, ≤ 64 KiB)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("a _search body must be application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_SEARCH_BODY:
            raise PayloadTooLarge(f"a _search body may hold at most {_MAX_SEARCH_BODY} bytes")
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


def _json(body: Mapping[str, Any], answer: UpstreamResponse) -> JSONResponse:
    headers = {name: answer.headers[name] for name in ("etag", "last-modified") if name in answer.headers}
    return JSONResponse(dict(body), 200, headers=headers, media_type=FHIR_JSON)


def _passthrough(answer: UpstreamResponse) -> JSONResponse:
    """A 4xx of the store, passed on as a sanitized OperationOutcome."""
    try:
        body = answer.json()
    except GatewayError:
        body = {}
    return JSONResponse(sanitize_outcome(body if isinstance(body, dict) else {}), answer.status, media_type=FHIR_JSON)


def _outcome(status: int) -> AuditOutcome:
    if status < 400:
        return AuditOutcome.SUCCESS
    if status in (401, 403):
        return AuditOutcome.DENIED
    return AuditOutcome.FAILED
