"""The FHIR store (HAPI) as the gateway talks to it, and the translation of its failures.

`Upstream.send` forwards one request to HAPI and returns an `UpstreamResponse` (status, the
headers the gateway may pass on, body). The client is aiohttp, chosen by measurement for this
hot path (BENCHMARKS.md, "HTTP client towards HAPI": 1.2–3.6 × httpx's throughput on the same
reads and searches). Transport failures never escape as aiohttp errors: a store that does not
answer (refused, reset, timed out) is `UpstreamUnavailable` (503), any other failure of the
exchange `UpstreamFailure` (502). HAPI's 5xx answers become `UpstreamFailure` with a fixed
message — their diagnostics name Java internals and are logged, never sent; its 4xx
OperationOutcomes are passed on with only the fields a client can use (`sanitize_outcome`).

Upstream URLs are built already encoded (yarl `encoded=True`) from path segments the
gateway checked, so that nothing on the way resolves `.` or `..` or re-encodes a character:
`send` refuses a path with any other segment, and no request leaves unless the path on the
wire is the one meant (`Unexpected` otherwise: the gateway sends nothing it did not decide on).

The session (a pool of kept-alive connections) is opened on first use, inside the running
event loop, and closed by `close()`; one `Upstream` serves one event loop.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from gateway.errors import Unexpected, UpstreamFailure, UpstreamUnavailable

__all__ = ["FORWARDED_HEADERS", "Upstream", "UpstreamResponse", "sanitize_outcome"]

FORWARDED_HEADERS = ("etag", "last-modified", "location", "content-location", "content-type")
"""Response headers of HAPI the gateway may pass on (after rewriting URLs in them)."""

_ISSUE_FIELDS = ("severity", "code", "details", "diagnostics", "location", "expression")
_log = logging.getLogger("gateway.store.client")
_SEGMENT = re.compile(r"[A-Za-z0-9\-._$]+")
"""A path segment the gateway sends: a resource type, an id, `_history`, `_search`, `$operation`."""


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


class Upstream:
    """Forwards requests to the FHIR store at `base_url` (e.g. http://127.0.0.1:8080/fhir)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, max_connections: int = 50) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = URL(self.base_url, encoded=True)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

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

        `path` is relative to the FHIR base ("" for the base itself, "CarePlan/x", ...); each of
        its segments is a resource type, an id, `_history` or an operation, never one made only
        of dots (`Unexpected` otherwise, and nothing is sent).
        4xx answers are returned (the caller decides what to pass on).
        """
        if not all(_SEGMENT.fullmatch(segment) and set(segment) != {"."} for segment in path.split("/") if path):
            _log.error("refused to send %s to the FHIR store path %.200r", method, path)
            raise Unexpected()
        meant = f"{self._base.raw_path}/{path}" if path else self._base.raw_path
        url = URL(f"{self.base_url}/{path}" if path else self.base_url, encoded=True)
        sent = url.extend_query(list(params)) if params else url
        if sent.raw_path != url.raw_path or url.raw_path != meant:
            _log.error("the URL built for the FHIR store, %.200r, is not the path meant, %.200r", str(sent), meant)
            raise Unexpected()
        return await self._exchange(method, sent, headers, content)

    async def close(self) -> None:
        """Close the connection pool (if it was opened)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _exchange(
        self, method: str, sent: URL, headers: Mapping[str, str] | None, content: bytes | None
    ) -> UpstreamResponse:
        """One exchange with the store at `sent`, checked by `send`; errors mapped as the module says."""
        try:
            async with self._client().request(
                method,
                sent,
                headers=dict(headers or {}),
                data=content,
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise UpstreamUnavailable("the FHIR store did not answer") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure("the exchange with the FHIR store failed") from exc
        if response.status >= 500:
            _log.error("FHIR store answered %s to %s %s: %.500r", response.status, method, sent, body)
            raise UpstreamFailure("the FHIR store failed to process the request")
        kept = {name: response.headers[name] for name in FORWARDED_HEADERS if name in response.headers}
        return UpstreamResponse(response.status, kept, body)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=True)
        return self._session


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
