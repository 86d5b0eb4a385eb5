"""The only place that builds OperationOutcomes, and the handlers that send them.

`outcome(...)` makes the resource; `install_handlers(app)` makes every failure of the FastAPI
application answer with one, as `application/fhir+json`:

- `GatewayError` subclasses: their status, issue code, message and reasons (unless the error
  keeps them for the audit only: `shows_reasons`);
- FastAPI's `RequestValidationError`: 400 invalid (instead of FastAPI's 422 `{"detail": …}`);
- Starlette's `HTTPException` (unknown path 404, wrong method 405, …): its status;
- any other `Exception`: 500 exception, with a fixed message — the exception's text is logged,
  never sent.

Each decision reason becomes an issue of its own whose `details` carries the reason code
(system `ACCESS_REASON_SYSTEM`) and the English text, with Finnish and Swedish as FHIR translation
extensions on `details.text`; the rule URI goes into `diagnostics`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.access.seam import Reason
from gateway.errors import GatewayError, Unexpected
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import ACCESS_REASON_SYSTEM, TRANSLATION

__all__ = ["error_outcome", "error_response", "install_handlers", "outcome"]


_HTTP_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}
_log = logging.getLogger("gateway.outcomes")


def outcome(severity: str, issue_code: str, message: str, reasons: tuple[Reason, ...] = ()) -> dict[str, Any]:
    """An OperationOutcome: one issue for `message`, then one issue per reason."""
    issues: list[dict[str, Any]] = [{"severity": severity, "code": issue_code, "diagnostics": message}]
    issues.extend(_reason_issue(severity, issue_code, reason) for reason in reasons)
    return {"resourceType": "OperationOutcome", "issue": issues}


def error_response(error: GatewayError) -> JSONResponse:
    """The HTTP answer for `error`."""
    return JSONResponse(error_outcome(error), status_code=error.status_code, media_type=FHIR_JSON)


def error_outcome(error: GatewayError) -> dict[str, Any]:
    """The OperationOutcome for `error`: its severity, code and message, and the reasons it may show."""
    return outcome(error.severity, error.issue_code, error.message, error.reasons if error.shows_reasons else ())


def install_handlers(app: FastAPI) -> None:
    """Make every failure in `app` answer with an OperationOutcome."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
    body = outcome("error", "invalid", f"the request is not valid: {where or 'malformed'}")
    return JSONResponse(body, status_code=400, media_type=FHIR_JSON)


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    body = outcome("error", _HTTP_ISSUE_CODES.get(exc.status_code, "processing"), str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, media_type=FHIR_JSON, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unexpected failure on %s %s", request.method, request.url.path)
    return error_response(Unexpected())


def _reason_issue(severity: str, issue_code: str, reason: Reason) -> dict[str, Any]:
    return {
        "severity": severity,
        "code": issue_code,
        "details": {
            "coding": [{"system": ACCESS_REASON_SYSTEM, "code": reason.code}],
            "text": reason.text_en,
            "_text": {
                "extension": [
                    _translation("fi", reason.text_fi),
                    _translation("sv", reason.text_sv),
                ]
            },
        },
        "diagnostics": f"{reason.code} ({reason.rule})",
    }


def _translation(language: str, text: str) -> dict[str, Any]:
    return {
        "url": TRANSLATION,
        "extension": [
            {"url": "lang", "valueCode": language},
            {"url": "content", "valueString": text},
        ],
    }
