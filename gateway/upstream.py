"""The FHIR store (HAPI) as the gateway talks to it, and the translation of its failures.

`Upstream.send` forwards one request to HAPI and returns an `UpstreamResponse` (status, the
headers the gateway may pass on, body). Transport failures never escape as httpx errors:
`map_upstream_errors` turns them into `UpstreamUnavailable` (503: did not answer) or
`UpstreamFailure` (502), as httpx's own `map_httpcore_exceptions` does one layer down.
HAPI's 5xx answers become `UpstreamFailure` with a fixed message — their diagnostics name
Java internals and are logged, never sent; its 4xx OperationOutcomes are passed on with only
the fields a client can use (`sanitize_outcome`).

The caller owns the `httpx.AsyncClient` (pool, timeouts, lifetime).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.errors import UpstreamFailure, UpstreamUnavailable

__all__ = ["FORWARDED_HEADERS", "Upstream", "UpstreamResponse", "map_upstream_errors", "sanitize_outcome"]

FORWARDED_HEADERS = ("etag", "last-modified", "location", "content-location", "content-type")
"""Response headers of HAPI the gateway may pass on (after rewriting URLs in them)."""

_ISSUE_FIELDS = ("severity", "code", "details", "diagnostics", "location", "expression")
_log = logging.getLogger("gateway.upstream")


@dataclass(frozen=True)
class UpstreamResponse:
    """HAPI's answer: status, the forwardable headers (lower-case names) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; `UpstreamFailure` if it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamFailure("the FHIR store answered with a body that is not JSON") from None


@contextmanager
def map_upstream_errors() -> Iterator[None]:
    """Translate httpx failures inside the block into gateway errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamUnavailable("the FHIR store did not answer in time") from exc
    except httpx.TransportError as exc:
        raise UpstreamUnavailable("the FHIR store cannot be reached") from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailure("the exchange with the FHIR store failed") from exc


class Upstream:
    """Forwards requests to the FHIR store at `base_url` (e.g. http://127.0.0.1:8080/fhir)."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> UpstreamResponse:
        """Send `method` to `<base_url>/<path>`; raise on transport failure or a 5xx answer.

        `path` is relative to the FHIR base ("" for the base itself, "CarePlan/x", ...).
        4xx answers are returned (the caller decides what to pass on).
        """
        url = f"{self.base_url}/{path}" if path else self.base_url
        with map_upstream_errors():
            response = await self._client.request(
                method, url, params=httpx.QueryParams(list(params)), headers=dict(headers or {}), content=content
            )
        if response.status_code >= 500:
            _log.error("FHIR store answered %s to %s %s: %.500s", response.status_code, method, path, response.text)
            raise UpstreamFailure("the FHIR store failed to process the request")
        kept = {name: response.headers[name] for name in FORWARDED_HEADERS if name in response.headers}
        return UpstreamResponse(response.status_code, kept, response.content)


def sanitize_outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an upstream OperationOutcome a client may see: each issue's standard fields.

    Extensions (HAPI's line/column and message-id markers), ids and meta are dropped.
    Anything that is not an OperationOutcome becomes one generic issue.
    """
    issues = outcome.get("issue") if outcome.get("resourceType") == "OperationOutcome" else None
    if not isinstance(issues, list) or not issues:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "processing", "diagnostics": "the FHIR store refused the request"}],
        }
    kept = [
        {field: issue[field] for field in _ISSUE_FIELDS if field in issue}
        for issue in issues
        if isinstance(issue, dict)
    ]
    return {"resourceType": "OperationOutcome", "issue": kept}
