"""Small helpers the tests share for reading FHIR answers."""

from __future__ import annotations

from typing import Any

import httpx

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def errors(outcome: dict[str, Any]) -> list[str]:
    """The error and fatal diagnostics of an OperationOutcome."""
    assert outcome.get("resourceType") == "OperationOutcome", outcome
    return [
        str(issue.get("diagnostics", issue.get("code")))
        for issue in outcome.get("issue", [])
        if issue.get("severity") in ("error", "fatal")
    ]


def search_total(client: httpx.Client, path: str, **params: str) -> int:
    """How many resources a search finds (asks HAPI for an accurate total)."""
    response = client.get(path, params={**params, "_summary": "count", "_total": "accurate"})
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total
