"""Which async HTTP client to talk to HAPI with: httpx.AsyncClient (what the gateway uses) or aiohttp.

    python -m bench.upstream_clients [--concurrency 1 8 32] [--duration S] [--warmup S] [--write]

Starts HAPI with the demo (`bench.stack.hapi_with_demo`), then for each request — the read
`GET CarePlan/demo-plan` and the search `GET Goal?subject=Patient/demo-client` — and each
concurrency, runs the same closed loop (`bench.load.run_load`) with each client, one after
the other (their order alternating), in this one process. Both clients are set up as the
gateway sets up its own: one pool of up to 50 kept-alive connections, a 60 s timeout, the
same Accept and Accept-Encoding headers; each request reads the whole body (parsing it
would be the same work for both, so it is left out). aiohttp is a dependency of the gateway (its upstream client).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import httpx

from bench.load import Attempt, Call, Load, LoadResult, run_load, together
from bench.report import write_section
from bench.stack import hapi_with_demo

__all__ = ["REQUESTS", "Row", "main", "measure_clients"]

REQUESTS: dict[str, tuple[str, dict[str, str]]] = {
    "read CarePlan/demo-plan": ("CarePlan/demo-plan", {}),
    "search Goal?subject=Patient/demo-client": ("Goal", {"subject": "Patient/demo-client"}),
}
"""Label → (path relative to the FHIR base, query parameters)."""

_HEADERS = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip, deflate"}
_POOL = 50  # the gateway's httpx.Limits(max_connections=50)
_TIMEOUT = 60.0
_CLIENTS = ("httpx", "aiohttp")


@dataclass(frozen=True)
class Row:
    """One request at one concurrency: each client's result."""

    request: str
    concurrency: int
    results: dict[str, LoadResult]


def _httpx_call(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> Call:
    async def call(worker: int) -> Attempt:
        started = time.perf_counter()
        response = await client.get(url, params=params, headers=_HEADERS)
        return Attempt(
            response.status_code,
            time.perf_counter() - started,
            response.text[:200] if response.status_code >= 300 else "",
        )

    return call


def _aiohttp_call(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> Call:
    async def call(worker: int) -> Attempt:
        started = time.perf_counter()
        async with session.get(url, params=params, headers=_HEADERS) as response:
            body = await response.read()
        detail = body[:200].decode("utf-8", "replace") if response.status >= 300 else ""
        return Attempt(response.status, time.perf_counter() - started, detail)

    return call


async def measure_clients(
    base_url: str, concurrencies: Sequence[int], duration: float, warmup: float, prime: float = 0.0, rounds: int = 1
) -> list[Row]:
    """Every request × concurrency × client against the FHIR store at `base_url`, after `prime`
    seconds of unmeasured load spread over every request and client (HAPI's JIT warms up).

    Each case runs `rounds` times per client, the clients alternating (which goes first
    alternates from case to case and round to round), and each client's rounds are taken
    together; a failed round fails the client's case."""
    rows: list[Row] = []
    async with (
        httpx.AsyncClient(timeout=_TIMEOUT, limits=httpx.Limits(max_connections=_POOL)) as hx,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_POOL), timeout=aiohttp.ClientTimeout(total=_TIMEOUT)
        ) as aio,
    ):
        cases = {
            label: {
                "httpx": _httpx_call(hx, f"{base_url}/{path}", params),
                "aiohttp": _aiohttp_call(aio, f"{base_url}/{path}", params),
            }
            for label, (path, params) in REQUESTS.items()
        }
        if prime > 0:
            for calls in cases.values():
                for call in calls.values():
                    await run_load(call, concurrency=8, duration=prime / (2 * len(cases)), warmup=0)
        for label, calls in cases.items():
            for concurrency in concurrencies:
                results: dict[str, LoadResult] = {}
                for round_number in range(rounds):
                    for name in _CLIENTS if (len(rows) + round_number) % 2 == 0 else _CLIENTS[::-1]:
                        result = await run_load(calls[name], concurrency=concurrency, duration=duration, warmup=warmup)
                        results[name] = together(results.get(name), result)
                rows.append(Row(label, concurrency, results))
    return rows


def _cell(result: LoadResult) -> str:
    if not isinstance(result, Load):
        return f"{result} | –"
    s = result.summary
    return f"{s.rate:,.0f} | {s.p50 * 1000:.1f} / {s.p99 * 1000:.1f}"


def _ratio(results: dict[str, LoadResult]) -> str:
    first, second = results["httpx"], results["aiohttp"]
    if isinstance(first, Load) and isinstance(second, Load):
        return f"{second.summary.rate / first.summary.rate:.2f}"
    return "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured per client and case")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run first in each case, unmeasured")
    parser.add_argument("--prime", type=float, default=10.0, help="seconds of unmeasured load before the first case")
    parser.add_argument("--rounds", type=int, default=1, help="runs per client and case, the clients alternating")
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    with hapi_with_demo() as settings:
        rows = asyncio.run(
            measure_clients(
                settings.hapi_base_url, args.concurrency, args.duration, args.warmup, args.prime, args.rounds
            )
        )

    lines = "\n".join(
        f"| {row.request} | {row.concurrency} | {_cell(row.results['httpx'])} | {_cell(row.results['aiohttp'])} "
        f"| {_ratio(row.results)} |"
        for row in rows
    )
    command = (
        f"python -m bench.upstream_clients --concurrency {' '.join(map(str, args.concurrency))} "
        f"--duration {args.duration:g} --warmup {args.warmup:g} --prime {args.prime:g} --rounds {args.rounds}"
    )
    body = f"""## HTTP client towards HAPI: httpx.AsyncClient versus aiohttp

`{command}`

| request (direct to HAPI) | concurrency | httpx req/s | httpx p50 / p99 ms | aiohttp req/s | aiohttp p50 / p99 ms | aiohttp / httpx req/s |
|---|---|---|---|---|---|---|
{lines}

Closed loop: each of `concurrency` tasks sends its next request when the previous answer has
been read whole; {args.rounds} × {args.duration:g} s measured per client and case (each after
{args.warmup:g} s of warm-up, the clients alternating round by round), all after {args.prime:g} s of
unmeasured load on a freshly started HAPI.
Both clients run in one process on asyncio's default event loop, with a pool of {_POOL} kept-alive
connections; HAPI, with the demo loaded, runs on the same machine and shares its cores.
"""
    if args.write:
        write_section("upstream-clients", body)
    print(body)


if __name__ == "__main__":
    main()
