"""What the gateway costs: throughput and latency through it versus straight to HAPI, same data, same run.

    python -m bench.gateway_throughput [--concurrency 8] [--duration S] [--warmup S] [--write]

Starts HAPI with the demo and the gateway as production runs them (`bench.stack`: its own
data directory, free ports, `yhteys gateway serve` under uvicorn, the demo systems
registered), then for each interaction runs a closed loop (`bench.load.run_load`) with
`--concurrency` workers straight to HAPI and through the gateway, alternating, the latter
with a real token of `--system` (default psychiatry-ehr: the psychiatric nurse, who may see
and change the plan's psychiatric activity) fetched from the gateway's token endpoint for
each run:

- read: `GET CarePlan/demo-plan`;
- search: `GET Goal?subject=Patient/demo-client`;
- update: worker n owns a private copy of the demo plan, `CarePlan/bench-plan-<n>` (PUT
  straight to HAPI before any run, so the demo is untouched and workers never conflict).
  Each update reads the plan from the same target as the same caller, changes the
  description of the activity owned by hospital-psychiatry, and sends the whole resource back
  with `PUT`, `If-Match: <the read's ETag>` and `Content-Type: application/fhir+json`. Only
  the PUT is timed; the rate counts whole read-then-update cycles. A 2xx answer without a
  new version's ETag counts as a failure (nothing shows the update was made).

An interaction answered with anything but 2xx is reported as FAILED with its status and
the OperationOutcome's words, never as a number. The load generator (httpx), the gateway and
HAPI share the machine's cores, as they would on a one-box deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bench.load import Attempt, Call, Failed, Load, LoadResult, run_load, together
from bench.report import write_section
from bench.stack import hapi_with_demo, served_gateway, token
from gateway.fhir.systems import OWNING_SECTOR
from gateway.settings import Settings

__all__ = ["INTERACTIONS", "MAX_PHASE", "TARGETS", "Target", "call_for", "main", "measure_gateway", "target_of"]

FHIR_JSON = "application/fhir+json"
INTERACTIONS = ("read", "search", "update")
TARGETS = ("direct", "gateway")
_SCOPE = "system/CarePlan.rus system/Goal.rs system/CareTeam.rs system/Condition.rs system/Patient.rs"
MAX_PHASE = 240.0  # a token lives 300 s; each run gets a fresh one
_STAMPS = itertools.count(1)  # unique across runs: an update must change the plan, or no version is made


@dataclass(frozen=True)
class Target:
    """Where requests go: a FHIR base and the headers every request carries."""

    name: str
    base: str
    headers: Mapping[str, str]


def _detail(response: httpx.Response) -> str:
    """What a failed answer says: its OperationOutcome's diagnostics or details, or its first bytes."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list):
        words = [
            i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code")
            for i in issues
            if isinstance(i, dict)
        ]
        return "; ".join(str(w) for w in words if w)[:300]
    return response.text[:200]


def _get_call(client: httpx.AsyncClient, target: Target, path: str, params: Mapping[str, str]) -> Call:
    url = f"{target.base}/{path}"

    async def call(worker: int) -> Attempt:
        started = time.perf_counter()
        response = await client.get(url, params=params, headers=dict(target.headers))
        seconds = time.perf_counter() - started
        return Attempt(response.status_code, seconds, "" if response.is_success else _detail(response))

    return call


def _touch_psychiatry_activity(plan: dict[str, Any], stamp: int) -> None:
    """Change the description of the plan's hospital-psychiatry activity; `ValueError` if none is seen."""
    for activity in plan.get("activity", []):
        owners = [
            e.get("valueCoding", {}).get("code") for e in activity.get("extension", []) if e.get("url") == OWNING_SECTOR
        ]
        if owners == ["hospital-psychiatry"]:
            detail = activity.setdefault("detail", {})
            original = str(detail.get("description", "")).split(" [tarkistettu ")[0]
            detail["description"] = f"{original} [tarkistettu {stamp}]"
            return
    raise ValueError("the plan as read shows no activity owned by hospital-psychiatry")


def _update_call(client: httpx.AsyncClient, target: Target) -> Call:
    async def call(worker: int) -> Attempt:
        url = f"{target.base}/CarePlan/bench-plan-{worker}"
        read = await client.get(url, headers=dict(target.headers))
        if read.status_code != 200:
            return Attempt(read.status_code, 0.0, f"the read before the update: {_detail(read)}")
        plan = read.json()
        version = read.headers.get("etag") or f'W/"{plan["meta"]["versionId"]}"'
        _touch_psychiatry_activity(plan, next(_STAMPS))
        headers = {**target.headers, "Content-Type": FHIR_JSON, "If-Match": version}
        content = json.dumps(plan, ensure_ascii=False).encode()
        started = time.perf_counter()
        response = await client.put(url, content=content, headers=headers)
        seconds = time.perf_counter() - started
        if not response.is_success:
            return Attempt(response.status_code, seconds, _detail(response))
        if response.headers.get("etag") in (None, version):  # FHIR: an update answers the new version's ETag
            return Attempt(0, seconds, f"the update answered {response.status_code} without a new version's ETag")
        return Attempt(response.status_code, seconds)

    return call


def _private_plans(hapi_base: str, count: int) -> None:
    """PUT `CarePlan/bench-plan-<n>` (n < count), copies of the demo plan, straight to HAPI."""
    with httpx.Client(timeout=60.0, headers={"Accept": FHIR_JSON}) as client:
        demo = client.get(f"{hapi_base}/CarePlan/demo-plan")
        demo.raise_for_status()
        for n in range(count):
            plan = copy.deepcopy(demo.json())
            plan["id"] = f"bench-plan-{n}"
            plan["meta"] = {"profile": plan["meta"]["profile"]}
            plan["identifier"][0]["value"] = f"PLAN-BENCH-{n:04d}"
            answer = client.put(
                f"{hapi_base}/CarePlan/bench-plan-{n}",
                content=json.dumps(plan).encode(),
                headers={"Content-Type": FHIR_JSON},
            )
            if not answer.is_success:
                raise RuntimeError(f"HAPI refused the private plan copy ({answer.status_code}): {_detail(answer)}")


def call_for(interaction: str, client: httpx.AsyncClient, target: Target) -> Call:
    """The measured call of `interaction` (one of `INTERACTIONS`) against `target`, as described above."""
    if interaction == "read":
        return _get_call(client, target, "CarePlan/demo-plan", {})
    if interaction == "search":
        return _get_call(client, target, "Goal", {"subject": "Patient/demo-client"})
    return _update_call(client, target)


async def measure_gateway(
    settings: Settings,
    system: str,
    concurrency: int,
    duration: float,
    warmup: float,
    prime: float = 0.0,
    rounds: int = 1,
) -> dict[str, dict[str, LoadResult]]:
    """interaction → {"direct": result, "gateway": result}; see the module doc.

    First `prime` seconds of unmeasured load, spread over every interaction and target, so
    that HAPI's JIT and the gateway's caches are warm. Then each interaction runs `rounds`
    times per target, direct and gateway alternating (direct first in the first round), and
    each target's rounds are taken together.
    """
    results: dict[str, dict[str, LoadResult]] = {}
    limits = httpx.Limits(max_connections=max(50, concurrency))
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        if prime > 0:
            for interaction in INTERACTIONS:
                for name in TARGETS:
                    call = call_for(interaction, client, await target_of(settings, name, system))
                    await run_load(call, concurrency=concurrency, duration=prime / 6, warmup=0)
        for interaction in INTERACTIONS:
            pooled: dict[str, LoadResult] = {}
            for round_number in range(rounds):
                for name in TARGETS if round_number % 2 == 0 else TARGETS[::-1]:
                    call = call_for(interaction, client, await target_of(settings, name, system))
                    result = await run_load(call, concurrency=concurrency, duration=duration, warmup=warmup)
                    pooled[name] = together(pooled.get(name), result)
            results[interaction] = pooled
    return results


async def target_of(settings: Settings, name: str, system: str) -> Target:
    """HAPI itself (`name` "direct"), or the gateway with a fresh token of `system` (tokens live 300 s)."""
    if name == "direct":
        return Target("direct", settings.hapi_base_url, {"Accept": FHIR_JSON})
    bearer = await asyncio.to_thread(token, settings, system, _SCOPE)
    return Target(
        "gateway", f"{settings.gateway_origin}/fhir", {"Accept": FHIR_JSON, "Authorization": f"Bearer {bearer}"}
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _row(interaction: str, direct: LoadResult, gateway: LoadResult) -> str:
    cells = [interaction]
    for result in (direct, gateway):
        cells.append(f"{result.summary.rate:,.1f}" if isinstance(result, Load) else str(result))
    if isinstance(direct, Load) and isinstance(gateway, Load):
        d, g = direct.summary, gateway.summary
        cells += [
            f"{g.rate / d.rate:.2f}",
            f"{_ms(d.p50)} / {_ms(d.p99)}",
            f"{_ms(g.p50)} / {_ms(g.p99)}",
            f"{(g.p50 - d.p50) * 1000:+.1f} / {(g.p99 - d.p99) * 1000:+.1f}",
        ]
    else:
        cells += ["–"] * 4
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured per interaction and target")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run first in each run, unmeasured")
    parser.add_argument("--prime", type=float, default=12.0, help="seconds of unmeasured load before the first run")
    parser.add_argument("--rounds", type=int, default=1, help="runs per interaction and target, alternating")
    parser.add_argument("--system", default="psychiatry-ehr", help="the demo system calling the gateway")
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    if args.duration + args.warmup > MAX_PHASE or args.prime / 6 > MAX_PHASE:
        parser.error(f"--duration + --warmup and --prime / 6 must stay within {MAX_PHASE:g} s (a token lives 300 s)")
    with hapi_with_demo() as settings, served_gateway(settings):
        _private_plans(settings.hapi_base_url, args.concurrency)
        results = asyncio.run(
            measure_gateway(
                settings, args.system, args.concurrency, args.duration, args.warmup, args.prime, args.rounds
            )
        )

    lines = "\n".join(_row(interaction, r["direct"], r["gateway"]) for interaction, r in results.items())
    failed = [f"{i} {t}" for i, r in results.items() for t, res in r.items() if isinstance(res, Failed)]
    command = (
        f"python -m bench.gateway_throughput --concurrency {args.concurrency} --duration {args.duration:g} "
        f"--warmup {args.warmup:g} --prime {args.prime:g} --rounds {args.rounds} --system {args.system}"
    )
    body = f"""## The gateway's cost: through the gateway versus straight to HAPI

`{command}`

| interaction | direct req/s | gateway req/s | throughput gateway / direct | direct p50 / p99 ms | gateway p50 / p99 ms | added by the gateway p50 / p99 ms |
|---|---|---|---|---|---|---|
{lines}

read = `GET CarePlan/demo-plan`, search = `GET Goal?subject=Patient/demo-client`, update =
`PUT CarePlan/<private copy>` with If-Match by the psychiatric nurse, changing the description
of the hospital-psychiatry activity (latency of the PUT alone; req/s counts read-then-update
cycles). {args.concurrency} workers in a closed loop; {args.rounds} × {args.duration:g} s measured per
interaction and target, each after {args.warmup:g} s of warm-up, direct and gateway alternating
round by round, all after {args.prime:g} s of unmeasured load on the freshly started stack.
The gateway runs as `yhteys gateway serve` (uvicorn, one process), called with a token of
`{args.system}`. Besides forwarding, it verifies the token, reads from HAPI what each decision
needs (the client's consents, afresh for every request by design; for an update also the
stored plan and the client's care teams), decides, filters, and appends an fsynced audit
record. Load generator, gateway and HAPI (heap {settings.hapi_heap}) share the machine's
{os.cpu_count()} cores.
"""
    if failed:
        body += f"\nFailed, so not measured: {', '.join(failed)}.\n"
    if args.write:
        write_section("gateway-throughput", body)
    print(body)


if __name__ == "__main__":
    main()
