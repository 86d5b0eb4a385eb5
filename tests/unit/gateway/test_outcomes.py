"""Every failure of a gateway application answers with a FHIR OperationOutcome."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.access.seam import Reason
from gateway.errors import Forbidden, GatewayError, PayloadTooLarge, PreconditionRequired
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import ACCESS_REASON_SYSTEM, TRANSLATION
from gateway.outcomes import install_handlers, outcome

REASON = Reason(
    code="psy-hidden",
    rule="https://yhteys.fi/fhir/policy/rule/psy-hidden-from-youth-work",
    text_fi="Psykiatrinen tieto ei näy nuorisotyölle.",
    text_sv="Psykiatrisk information visas inte för ungdomsarbetet.",
    text_en="Psychiatric information is not shown to youth work.",
)


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    install_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    @app.get("/typed/{number}")
    async def typed(number: int) -> dict[str, int]:
        return {"number": number}

    return app


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path)

    return asyncio.run(run())


def _issues(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issues: list[dict[str, Any]] = body["issue"]
    return issues


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Forbidden("no", (REASON,)), 403, "forbidden"),
        (PayloadTooLarge("too big"), 413, "too-costly"),
        (PreconditionRequired("If-Match is required"), 428, "required"),
        (GatewayError("plain"), 500, "exception"),
    ],
)
def test_gateway_errors_keep_their_status_and_code(error: GatewayError, status: int, code: str) -> None:
    response = _get(_app(error), "/boom")
    assert response.status_code == status
    assert _issues(response)[0] == {"severity": "error", "code": code, "diagnostics": error.message}


def test_reasons_carry_code_rule_and_three_languages() -> None:
    (_, issue) = _issues(_get(_app(Forbidden("denied", (REASON,))), "/boom"))
    details = issue["details"]
    assert details["coding"] == [{"system": ACCESS_REASON_SYSTEM, "code": "psy-hidden"}]
    assert details["text"] == REASON.text_en
    translations = {}
    for ext in details["_text"]["extension"]:
        assert ext["url"] == TRANSLATION
        parts = {part["url"]: part for part in ext["extension"]}
        translations[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    assert translations == {"fi": REASON.text_fi, "sv": REASON.text_sv}
    assert REASON.rule in issue["diagnostics"]


def test_unexpected_exception_is_500_without_its_text() -> None:
    response = _get(_app(RuntimeError("secret detail")), "/boom")
    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert _issues(response)[0]["severity"] == "fatal"


def test_unknown_path_is_404_outcome() -> None:
    response = _get(_app(RuntimeError()), "/nowhere")
    assert response.status_code == 404
    assert _issues(response)[0]["code"] == "not-found"


def test_request_validation_is_400_not_422() -> None:
    response = _get(_app(RuntimeError()), "/typed/not-a-number")
    assert response.status_code == 400
    issue = _issues(response)[0]
    assert issue["code"] == "invalid"
    assert "number" in issue["diagnostics"]


def test_outcome_without_reasons_has_one_issue() -> None:
    assert outcome("error", "invalid", "bad") == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "bad"}],
    }
