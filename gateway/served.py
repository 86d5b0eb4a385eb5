"""What serving one FHIR request (or one entry of a batch) came to, before it becomes HTTP.

The request path builds a `Served` — status, FHIR JSON body, headers, the clients whose data
it touched, the decisive effect and reasons — so that the same result can be sent as a
response (`as_response`), put into a batch-response entry (`as_entry`) and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from gateway.access.seam import Effect, Reason
from gateway.errors import GatewayError
from gateway.fhir.media import FHIR_JSON
from gateway.outcomes import outcome

__all__ = ["Served"]

_REASON_PHRASES = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    428: "Precondition Required", 502: "Bad Gateway", 503: "Service Unavailable",
}  # fmt: skip


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
        body = outcome("error", error.issue_code, error.message, error.reasons if error.shows_reasons else ())
        return cls(error.status_code, body, {}, patients, Effect.DENY, error.reasons)

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
