"""What HAPI itself says each request took: its servlet container's access log, read between marks.

`access_logged(directory)` is a context in which a HAPI started (`gateway.store.hapi.HapiServer`
passes the environment on to the JVM) writes an unbuffered access log into `directory`, one line
per request: method, path, status, Tomcat's processing time in microseconds (`%D`: from reading
the request line until the response is complete, so neither the client's work nor the network
is in it) and the query string. `AccessLog(directory, hapi_base)` reads it:
`await log.mark(label)` sends HAPI a request of its own (a read of a Patient that does not
exist) and waits until its line is written. Tomcat writes a request's line right after it
completes the response, so a request answered before the mark was sent has its line before the
mark's (barring a race of microseconds against the milliseconds a mark takes). `log.between(a,
b)` is the `Served` requests whose lines lie between marks `a` and `b`, marks excluded. The
caller's duty: only the requests to be counted reach HAPI between the two marks.

`kind_of(served)` names a request by its interaction and resource type, without ids or values
("search Consent (patient,status)", "read CarePlan", "update CarePlan").
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

__all__ = ["AccessLog", "Served", "access_logged", "kind_of"]

_PREFIX = "hapi-access"
_MARK = "bench-mark-"
_MARK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Served:
    """One request HAPI served: method, path (from `/fhir` on), query (without `?`), status, µs."""

    method: str
    path: str
    query: str
    status: int
    micros: int


@contextmanager
def access_logged(directory: Path) -> Iterator[None]:
    """Within the block, a HAPI started from this process logs its requests into `directory`.

    Spring Boot reads `server.tomcat.accesslog.*` from the environment; the previous values
    are restored on exit (HAPI keeps what it read at start)."""
    wanted = {
        "SERVER_TOMCAT_ACCESSLOG_ENABLED": "true",
        "SERVER_TOMCAT_ACCESSLOG_DIRECTORY": str(directory),
        "SERVER_TOMCAT_ACCESSLOG_PREFIX": _PREFIX,
        "SERVER_TOMCAT_ACCESSLOG_SUFFIX": ".log",
        "SERVER_TOMCAT_ACCESSLOG_ROTATE": "false",
        "SERVER_TOMCAT_ACCESSLOG_BUFFERED": "false",
        "SERVER_TOMCAT_ACCESSLOG_PATTERN": "%m %U %s %D %q",
    }
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class AccessLog:
    """HAPI's access log in `directory` (see `access_logged`), HAPI at `hapi_base`; see the module doc."""

    def __init__(self, directory: Path, hapi_base: str) -> None:
        self._directory = directory
        self._hapi_base = hapi_base.rstrip("/")
        self._offset = 0
        self._lines: list[str] = []
        self._marks: dict[str, int] = {}

    async def mark(self, label: str) -> None:
        """Set the mark `label`: send HAPI a request of its own and wait until its line is in the log.

        `RuntimeError` if no line shows within 30 s (no access log: HAPI was not started
        within `access_logged`). Requires a label not used before."""
        if label in self._marks:
            raise ValueError(f"the mark {label!r} is already set")
        token = f"{_MARK}{uuid.uuid4().hex[:12]}"
        async with httpx.AsyncClient(timeout=30.0) as client:
            answer = await client.get(f"{self._hapi_base}/Patient/{token}")
        if answer.status_code != 404:
            raise RuntimeError(f"HAPI answered the mark {label!r} with {answer.status_code}")
        deadline = time.monotonic() + _MARK_TIMEOUT
        while True:
            self._read_new()
            found = next((n for n in range(len(self._lines) - 1, -1, -1) if token in self._lines[n]), None)
            if found is not None:
                self._marks[label] = found
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAPI's access log in {self._directory} shows no line for the mark {label!r}")
            await asyncio.sleep(0.02)

    def between(self, begin: str, end: str) -> list[Served]:
        """The requests logged after mark `begin` and before mark `end` (both set, in that order)."""
        first, last = self._marks[begin], self._marks[end]
        if last < first:
            raise ValueError(f"the mark {end!r} comes before {begin!r}")
        return [served for line in self._lines[first + 1 : last] if (served := _parse(line)) is not None]

    def _read_new(self) -> None:
        files = sorted(self._directory.glob(f"{_PREFIX}*.log"))
        if not files:
            return
        with files[0].open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        whole = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset += len(whole)
        self._lines += whole.decode("utf-8", errors="replace").splitlines()


def _parse(line: str) -> Served | None:
    """One line of the pattern `%m %U %s %D %q`; None for a line of another shape or a mark."""
    parts = line.split(" ", 4)
    if len(parts) < 4 or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    if _MARK in parts[1]:
        return None
    query = parts[4].removeprefix("?") if len(parts) == 5 else ""
    return Served(parts[0], parts[1], query, int(parts[2]), int(parts[3]))


def kind_of(served: Served) -> str:
    """The request's interaction and resource type (ids and values left out); see the module doc."""
    segments = [s for s in served.path.split("/") if s][1:]  # without the servlet's "fhir"
    names = ",".join(sorted({name for name, _ in parse_qsl(served.query, keep_blank_values=True)}))
    params = f" ({names})" if names else ""
    if not segments:
        return "transaction or batch" if served.method == "POST" else f"{served.method} base{params}"
    rtype, rest = segments[0], segments[1:]
    if rtype == "metadata":
        return "capabilities"
    if served.method == "GET" and not rest:
        return f"search {rtype}{params}"
    if served.method == "POST" and rest == ["_search"]:
        return f"search {rtype} (POST)"
    if len(rest) == 1 and not rest[0].startswith(("_", "$")):
        interaction = {"GET": "read", "PUT": "update", "DELETE": "delete", "PATCH": "patch"}.get(served.method)
        if interaction:
            return f"{interaction} {rtype}"
    if len(rest) >= 2 and rest[1] == "_history":
        return f"{'vread' if len(rest) == 3 else 'history'} {rtype}{params}"
    shown = "/".join(s if s.startswith(("_", "$")) else "{id}" for s in rest)
    return f"{served.method} {rtype}/{shown}{params}"
