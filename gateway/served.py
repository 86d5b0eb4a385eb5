"""What serving one request came to, before it becomes HTTP; and what is known of it meanwhile.

`Attempt` is what an endpoint notes about its request while serving it (interaction,
resource, the clients it touches), for the audit record; `Answer` is what the audited frame
(`gateway.app.frame`) audits and sends.

The request path builds a `Served` — status, FHIR JSON body, headers, the clients whose data
it touched, the decisive effect and reasons — so that the same result can be sent as a
response (`as_response`), put into a batch-response entry (`as_entry`) and audited
(`disclosed`: the resources it carries). It is the `gateway.app.frame.Answer` of the FHIR
path, and of every failure of any endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.responses import JSONResponse, Response

from auth.principal import CitizenPrincipal, Principal
from gateway.access.seam import Effect, Reason
from gateway.access.subjects import patient_of
from gateway.audit.record import Disclosed, DocumentDisclosure
from gateway.errors import GatewayError, Unexpected
from gateway.fhir.media import FHIR_JSON
from gateway.outcomes import error_outcome

__all__ = ["Answer", "Attempt", "IntentRecorder", "Responded", "Served"]

_REASON_PHRASES = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    428: "Precondition Required", 502: "Bad Gateway", 503: "Service Unavailable",
}  # fmt: skip


class Answer(Protocol):
    """What an endpoint served, ready to be audited and sent (`gateway.served.Served` is one)."""

    @property
    def status(self) -> int: ...
    @property
    def patients(self) -> tuple[str, ...]: ...
    @property
    def effect(self) -> Effect: ...
    @property
    def reasons(self) -> tuple[Reason, ...]: ...
    def disclosed(self) -> tuple[Disclosed, ...]: ...
    def as_response(self) -> Response: ...


IntentRecorder = Callable[["Attempt", tuple[str, ...], tuple[Reason, ...]], Awaitable[None]]
"""Records, durably, the writes a request is about to send (with the attempt's clients and the
decision's reasons); raises `AuditUnavailable` if it cannot."""


@dataclass
class Attempt:
    """What is known of one request so far, for its audit record; the endpoint fills it in.

    `principal` is set by the frame once the token verified (None for a public endpoint or
    before that); `citizen` instead, on a citizen's page, once their session is found. `touch` the clients ("Patient/<id>") the request reads or names, as soon as
    they are known: a failure is recorded with them. `recorder` is set by the frame: an
    endpoint must `await intend(...)` before it sends any write to the store. A public
    endpoint may set `anonymous` to what it knows of an unauthenticated caller (recorded as
    why it is not authenticated, e.g. the client a token request claimed and why it was refused).
    An endpoint that issues a document to another party sets `disclosure` once the document is
    stored: it is recorded only if the request succeeds.
    """

    interaction: str = "unknown"
    resource_type: str | None = None
    resource_id: str | None = None
    principal: Principal | None = None
    citizen: CitizenPrincipal | None = None
    recorder: IntentRecorder | None = None
    anonymous: str = ""
    disclosure: DocumentDisclosure | None = None
    _clients: dict[str, None] = field(default_factory=dict)

    async def intend(self, writes: tuple[str, ...], reasons: tuple[Reason, ...]) -> None:
        """Record `writes` ("PUT CarePlan/p1", ...) in the audit trail before they are sent.

        Returns once the record is on stable storage; raises `AuditUnavailable` if it cannot
        be, and `Unexpected` outside the audited frame: the caller then sends nothing.
        """
        if self.recorder is None:
            raise Unexpected()
        await self.recorder(self, writes, reasons)

    def touch(self, *patients: str) -> None:
        """Note clients the request touches or names (first occurrence kept)."""
        self._clients.update(dict.fromkeys(patients))

    @property
    def patients(self) -> tuple[str, ...]:
        """The clients noted so far, sorted."""
        return tuple(sorted(self._clients))

    def caller(self) -> Principal:
        """The authenticated principal; only for endpoints that are not public."""
        if self.principal is None:
            raise Unexpected()
        return self.principal

    def citizen_caller(self) -> CitizenPrincipal:
        """The authenticated citizen; only for a citizen's pages (`Unexpected` elsewhere: fail closed)."""
        if self.citizen is None:
            raise Unexpected()
        return self.citizen


@dataclass(frozen=True)
class Served:
    """One served request. `headers` hold only what may be sent (ETag, Location, ...)."""

    status: int
    body: Mapping[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)
    patients: tuple[str, ...] = ()
    effect: Effect = Effect.PERMIT
    reasons: tuple[Reason, ...] = ()

    @classmethod
    def failed(cls, error: GatewayError, patients: tuple[str, ...] = ()) -> Served:
        """The refusal or failure `error`, as an OperationOutcome."""
        return cls(error.status_code, error_outcome(error), {}, patients, Effect.DENY, error.reasons)

    def as_response(self) -> Response:
        """The HTTP response (FHIR JSON, or no body at all)."""
        if self.body is None:
            return Response(b"", status_code=self.status, headers=dict(self.headers))
        return JSONResponse(dict(self.body), self.status, headers=dict(self.headers), media_type=FHIR_JSON)

    def as_entry(self) -> dict[str, Any]:
        """A batch-response entry: the resource (or outcome) and the response's status and headers."""
        response: dict[str, Any] = {"status": f"{self.status} {_REASON_PHRASES.get(self.status, '')}".strip()}
        for header, element in (("location", "location"), ("etag", "etag"), ("last-modified", "lastModified")):
            if header in self.headers:
                response[element] = self.headers[header]
        entry: dict[str, Any] = {}
        if self.body is not None and self.status >= 400:
            response["outcome"] = dict(self.body)
        elif self.body is not None:
            entry["resource"] = dict(self.body)
        entry["response"] = response
        return entry

    def disclosed(self) -> tuple[Disclosed, ...]:
        """The resources a successful answer carries (a Bundle's entries, or the resource itself)."""
        if self.status >= 400 or not isinstance(self.body, Mapping):
            return ()
        body = self.body
        entries = body.get("entry") if body.get("resourceType") == "Bundle" else [{"resource": body}]
        found = []
        for entry in entries if isinstance(entries, list) else []:
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping) and isinstance(resource.get("id"), str):
                meta = resource.get("meta")
                version = meta.get("versionId") if isinstance(meta, Mapping) else None
                reference = f"{resource.get('resourceType')}/{resource['id']}" + (
                    f"/_history/{version}" if version else ""
                )
                patient = patient_of(resource)
                found.append(Disclosed(reference, patient if isinstance(patient, str) else None))
        return tuple(found)


@dataclass(frozen=True)
class Responded:
    """An `Answer` that is a finished response (a page, an OAuth answer), with its clients.

    It discloses the FHIR resources a page shows (`shown`; none for an OAuth answer); `effect`
    and `reasons` are the decision's, when one was made.
    """

    response: Response
    patients: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    effect: Effect = Effect.PERMIT
    shown: tuple[Disclosed, ...] = ()

    @property
    def status(self) -> int:
        return self.response.status_code

    def disclosed(self) -> tuple[Disclosed, ...]:
        return self.shown if self.status < 400 else ()

    def as_response(self) -> Response:
        return self.response
