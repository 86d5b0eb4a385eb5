"""Everything the gateway refuses or fails at, as one hierarchy.

Each class declares the HTTP `status_code` and the FHIR `issue_code`
(http://hl7.org/fhir/issue-type) its OperationOutcome carries; `gateway.outcomes` turns any of
them into the answer. Raise them with a message for the caller (no secrets, no stack traces)
and, for access decisions, the decision's reasons.

    GatewayError
    ├── Unexpected                    500 exception   (a failure of the gateway itself; fixed text)
    ├── BadRequest                    400 invalid
    │   ├── MalformedBody             400 structure   (not JSON, not a FHIR resource)
    │   ├── InvalidId                 400 value
    │   ├── IdMismatch                400 invalid     (PUT body id ≠ URL id)
    │   └── UnsupportedParameter      400 not-supported (_has, chains, _contained, …)
    ├── Unauthenticated               401 login
    ├── Forbidden                     403 forbidden   (carries the decision's reasons)
    ├── NotFound                      404 not-found
    │   └── Unseen                    404 not-found   (exists, but hidden from the caller)
    ├── MethodNotAllowed              405 not-supported
    ├── PageGone                      410 not-found   (a page link not known, not the caller's, or expired)
    ├── Conflict                      409 conflict    (breaks a rule across resources)
    ├── PreconditionFailed            412 conflict    (stale If-Match)
    ├── PayloadTooLarge               413 too-costly
    ├── UnsupportedMediaType          415 not-supported
    ├── Unprocessable                 422 business-rule (a change the plan's rules forbid)
    │   └── UnresolvableReference     422 business-rule (names nothing the caller may see)
    ├── PreconditionRequired          428 required    (update without If-Match)
    ├── UpstreamFailure               502 exception   (the FHIR store answered nonsense)
    └── ServiceUnavailable            503 transient
        ├── UpstreamUnavailable       503 transient   (the FHIR store did not answer)
        └── AuditUnavailable          503 transient   (fail closed: nothing is disclosed)
"""

from __future__ import annotations

from gateway.access.seam import Reason

__all__ = [
    "AuditUnavailable",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayError",
    "IdMismatch",
    "InvalidId",
    "MalformedBody",
    "MethodNotAllowed",
    "NotFound",
    "PageGone",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServiceUnavailable",
    "Unauthenticated",
    "UnsupportedMediaType",
    "Unprocessable",
    "UnresolvableReference",
    "UnsupportedParameter",
    "Unexpected",
    "Unseen",
    "UpstreamFailure",
    "UpstreamUnavailable",
    "unknown",
]


class GatewayError(Exception):
    """A refusal or failure with its HTTP status, FHIR issue code, message and reasons."""

    status_code = 500
    issue_code = "exception"
    severity = "error"
    """The OperationOutcome issue's severity."""
    shows_reasons = True
    """False: the reasons go to the audit only, never to the caller."""

    def __init__(self, message: str, reasons: tuple[Reason, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons


class Unexpected(GatewayError):
    """The gateway itself failed (a bug, an unforeseen state): the caller learns nothing more.

    The message is fixed, whatever went wrong; the cause is logged, never sent.
    """

    severity = "fatal"

    def __init__(self) -> None:
        super().__init__("the gateway failed to process the request")


class BadRequest(GatewayError):
    status_code = 400
    issue_code = "invalid"


class MalformedBody(BadRequest):
    issue_code = "structure"


class InvalidId(BadRequest):
    issue_code = "value"


class IdMismatch(BadRequest):
    issue_code = "invalid"


class UnsupportedParameter(BadRequest):
    issue_code = "not-supported"


class Unauthenticated(GatewayError):
    status_code = 401
    issue_code = "login"


class Forbidden(GatewayError):
    status_code = 403
    issue_code = "forbidden"


class NotFound(GatewayError):
    status_code = 404
    issue_code = "not-found"


class Unseen(NotFound):
    """A resource the caller may not know of (it carries a label hidden from it).

    Answered exactly like a resource that does not exist, so that a refusal is no oracle
    (a 403 would confirm, say, that psychiatric information about the client exists); the
    reasons are kept for the audit.
    """

    shows_reasons = False


class MethodNotAllowed(GatewayError):
    status_code = 405
    issue_code = "not-supported"


class PageGone(GatewayError):
    """A follow-up page that cannot be served: its link was not made for this caller, was
    changed, or its stored search expired. One answer for all three, so a link is no oracle."""

    status_code = 410
    issue_code = "not-found"


class Conflict(GatewayError):
    status_code = 409
    issue_code = "conflict"


class PreconditionFailed(GatewayError):
    status_code = 412
    issue_code = "conflict"


class PayloadTooLarge(GatewayError):
    status_code = 413
    issue_code = "too-costly"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    issue_code = "not-supported"


class Unprocessable(GatewayError):
    status_code = 422
    issue_code = "business-rule"


class UnresolvableReference(Unprocessable):
    """A reference in a write to a resource that does not exist or that the caller may not see.

    Both are answered alike, so that a write is no oracle; the reasons are kept for the audit.
    """

    shows_reasons = False


class PreconditionRequired(GatewayError):
    status_code = 428
    issue_code = "required"


class UpstreamFailure(GatewayError):
    status_code = 502
    issue_code = "exception"


class ServiceUnavailable(GatewayError):
    status_code = 503
    issue_code = "transient"


class UpstreamUnavailable(ServiceUnavailable):
    pass


class AuditUnavailable(ServiceUnavailable):
    pass


def unknown(path: str) -> str:
    """The message for a resource the caller cannot have: missing and hidden alike."""
    return f"{path} is not known"
