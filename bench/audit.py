"""What the audit trail costs: durable appends per second alone, and the gateway with audit on and off.

    python -m bench.audit [--producers 1,16,64,256] [--trail-duration S] [--trail-warmup S] [--dir D]
                          [--concurrency 8] [--duration S] [--warmup S] [--prime S] [--rounds N]
                          [--system psychiatry-ehr] [--only trail|gateway] [--write]

1. The trail alone (issue goal: at least 5,000 durable records/s). For each count K in
   `--producers`, a fresh `AuditTrail` over a fresh SQLite store (`AuditStore.sqlite`: WAL,
   synchronous=FULL, so a commit is fsynced before it returns) in a new directory under
   `--dir`, with a fresh checkpoint key, takes records from K producers in a closed loop
   (`bench.load.run_load`): producer n builds a record and awaits its own `record()`, then
   the next. The record is `plan_read`: what the pipeline records when the psychiatric nurse
   of the demo reads the client's plan (permitted, so `events_of` makes a REST and an AuthZ
   event of it). Records/s counts `record()` calls returned in the measured window; events/s
   is that times the events per record. Group commit is observed by a subclass of the store
   that notes each `commit` (one transaction, one fsync) as it returns; records per commit
   is the mean over the commits that returned in the measured window. Latency is one
   `record()` call, BALP conversion included.

2. The gateway with audit on and off (issue goal: audit costs under 10 % of throughput).
   HAPI with the demo (`bench.stack.hapi_with_demo`) and two gateways in front of it, each a
   child process with its own gateway directory and port (`bench.stack.served_gateway`
   running `python -m bench.audited_gateway trail|discard`: uvicorn serving
   `build_gateway(settings, audit=...)`), one recording into the real trail, one handing
   records to `bench.audited_gateway.Discard`. After `--prime` seconds of unmeasured load
   split between them, `--rounds` rounds of `GET CarePlan/demo-plan` with `--concurrency`
   workers (`bench.gateway_throughput`'s read, a fresh token of `--system` per run) go to
   each, alternating which goes first; each variant's rounds are pooled. The cost of audit is
   1 - (req/s with audit) / (req/s without). A read answered with anything but 2xx is
   reported as FAILED, never as a number.

A child process (not a thread of this one) serves each gateway, so that the load generator
does not share an interpreter lock with the gateway it measures. The load generator, both
gateways and HAPI share the machine's cores; only one gateway is under load at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.audited_gateway import SINKS
from bench.gateway_throughput import MAX_PHASE, call_for, target_of
from bench.load import Attempt, Failed, Load, LoadResult, run_load, together
from bench.report import write_section
from bench.stack import hapi_with_demo, served_gateway
from gateway.access.seam import Effect, Reason
from gateway.audit import AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.balp import events_of
from gateway.audit.chain import CheckpointKey
from gateway.audit.setup import open_store
from gateway.audit.store import AuditStore, Batch, StoredEvent
from gateway.audit.trail import AuditTrail
from gateway.fhir.systems import CONSENT_RULE_BASE
from gateway.settings import Settings
from tests.ports import free_port

__all__ = ["GatewayRun", "TrailRun", "main", "measure_gateways", "measure_trail", "plan_read"]

_SERVER = "http://127.0.0.1:8000/fhir"
_PATIENT = "Patient/demo-client"
_READS_PLAN = Reason("psychiatry-reads-plan", "https://yhteys.fi/fhir/policy/rule/psychiatry-reads-plan", "", "", "")
_NO_CONSENT_PERMITS = Reason("no-consent-permits", CONSENT_RULE_BASE + "no-consent-permits", "", "", "")
_NURSE = Caller(
    client_id="psychiatry-ehr",
    organization="Organization/demo-org-psychiatry",
    sector="hospital-psychiatry",
    practitioner_role="PractitionerRole/demo-role-psych-nurse",
    purpose_of_use="TREAT",
    token_jti="",
    team_roles=("psychiatric-nurse",),
)
_PLAN_READ = AuditRecord(
    request_id="",
    recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    caller=_NURSE,
    method="GET",
    path="/fhir/CarePlan/demo-plan",
    query="",
    interaction="read",
    resource_type="CarePlan",
    patients=(_PATIENT,),
    effect=Effect.PERMIT,
    reasons=(_READS_PLAN, _NO_CONSENT_PERMITS),
    status=200,
    outcome=AuditOutcome.SUCCESS,
    resource_id="demo-plan",
    disclosed=(Disclosed("CarePlan/demo-plan/_history/1", _PATIENT),),
    source_address="127.0.0.1",
)


def plan_read(now: datetime) -> AuditRecord:
    """The record of the demo's psychiatric nurse reading the client's plan, made at `now`.

    As the pipeline makes it for `GET CarePlan/demo-plan` with a token of psychiatry-ehr (the
    role rule permits; the client's consents neither permit nor refuse): its BALP events are
    a served gateway's for that read but for the request id, jti and times. Each call gets its
    own request id and token jti, as each request does.
    """
    caller = replace(_NURSE, token_jti=secrets.token_urlsafe(24))
    return replace(_PLAN_READ, request_id=str(uuid.uuid4()), recorded_at=now, caller=caller)


# -- 1. the trail alone ---------------------------------------------------------------------


class _NotedStore(AuditStore):
    """The store, noting when each `commit` (one transaction) returned and how many events it held."""

    def __init__(self, connection: Any, placeholder: str, description: str) -> None:
        super().__init__(connection, placeholder, description)
        self.commits: list[tuple[float, int]] = []

    def commit(self, batch: Batch) -> list[StoredEvent]:
        stored = super().commit(batch)
        self.commits.append((time.monotonic(), len(batch.rows)))
        return stored


@dataclass(frozen=True)
class TrailRun:
    """One producer count's result: the `record()` calls, and the commits in the measured window."""

    producers: int
    result: LoadResult
    events_per_record: int
    commits: int
    committed_events: int

    @property
    def records_per_commit(self) -> float:
        return self.committed_events / self.events_per_record / self.commits if self.commits else 0.0


async def measure_trail(directory: Path, producers: int, duration: float, warmup: float) -> TrailRun:
    """Feed a fresh trail in a new directory under `directory` from `producers` loops; see the module doc."""
    events_per_record = len(events_of(plan_read(datetime.now(UTC)), server=_SERVER))
    with tempfile.TemporaryDirectory(prefix="yhteys-bench-audit-", dir=directory) as folder:
        store = _NotedStore.sqlite(Path(folder) / "audit.sqlite")
        assert isinstance(store, _NotedStore)
        trail = AuditTrail(store, CheckpointKey.load(Path(folder) / "checkpoint-key.pem"), server=_SERVER)

        async def call(worker: int) -> Attempt:
            record = plan_read(datetime.now(UTC))
            started = time.perf_counter()
            await trail.record(record)  # raises AuditUnavailable if not stored: a failed attempt
            return Attempt(200, time.perf_counter() - started)  # 200: stored

        began = time.monotonic()
        try:
            result = await run_load(call, concurrency=producers, duration=duration, warmup=warmup)
        finally:
            await trail.close()
    window = [n for at, n in store.commits if began + warmup <= at <= began + warmup + duration]
    return TrailRun(producers, result, events_per_record, len(window), sum(window))


def _filesystem(path: Path) -> str:
    """The type of the file system `path` lies on (from /proc/mounts), or "unknown"."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    resolved = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3 and (resolved + "/").startswith(fields[1].rstrip("/") + "/") and len(fields[1]) > len(best):
            best, kind = fields[1], fields[2]
    return kind


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _trail_row(run: TrailRun) -> str:
    if isinstance(run.result, Failed):
        return f"| {run.producers} | {run.result} | – | – | – |"
    s = run.result.summary
    return (
        f"| {run.producers} | {s.rate:,.0f} | {s.rate * run.events_per_record:,.0f} | "
        f"{run.records_per_commit:,.1f} | {_ms(s.p50)} / {_ms(s.p99)} |"
    )


# -- 2. the gateway with audit on and off ---------------------------------------------------


@dataclass(frozen=True)
class GatewayRun:
    """Each sink's pooled reads, and the events each gateway's own trail held at the end."""

    results: Mapping[str, LoadResult]
    stored_events: Mapping[str, int]

    @property
    def cost(self) -> float | None:
        """1 - throughput with the trail / throughput discarding, or None if either failed."""
        on, off = self.results["trail"], self.results["discard"]
        if isinstance(on, Load) and isinstance(off, Load):
            return 1 - on.summary.rate / off.summary.rate
        return None


async def measure_gateways(
    gateways: Mapping[str, Settings],
    system: str,
    concurrency: int,
    duration: float,
    warmup: float,
    prime: float,
    rounds: int,
) -> dict[str, LoadResult]:
    """sink → pooled plan reads through the gateway with that sink; see the module doc."""
    pooled: dict[str, LoadResult] = {}
    limits = httpx.Limits(max_connections=max(50, concurrency))
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        if prime > 0:
            for sink in SINKS:
                call = call_for("read", client, await target_of(gateways[sink], "gateway", system))
                await run_load(call, concurrency=concurrency, duration=prime / len(SINKS), warmup=0)
        for round_number in range(rounds):
            for sink in SINKS if round_number % 2 == 0 else SINKS[::-1]:
                call = call_for("read", client, await target_of(gateways[sink], "gateway", system))
                result = await run_load(call, concurrency=concurrency, duration=duration, warmup=warmup)
                pooled[sink] = together(pooled.get(sink), result)
    return pooled


def _run_gateways(args: argparse.Namespace) -> tuple[GatewayRun, Settings]:
    """Start HAPI and both gateways, measure, stop them; the run and HAPI's settings."""
    with hapi_with_demo() as settings:
        gateways: dict[str, Settings] = {}
        for sink in SINKS:
            port = settings.gateway_port if sink == SINKS[0] else free_port()
            gateways[sink] = settings.with_changes(data_dir=settings.data_dir / f"gateway-{sink}", gateway_port=port)
            gateways[sink].data_dir.mkdir(parents=True)
        with ExitStack() as stack:
            for sink in SINKS:
                command = [sys.executable, "-m", "bench.audited_gateway", sink]
                stack.enter_context(served_gateway(gateways[sink], command))
            results = asyncio.run(
                measure_gateways(
                    gateways, args.system, args.concurrency, args.duration, args.warmup, args.prime, args.rounds
                )
            )
        stored = {}
        for sink in SINKS:  # after the gateways stopped: evidence that one audited and one did not
            store = open_store(gateways[sink])
            try:
                stored[sink] = store.head()[0]
            finally:
                store.close()
        return GatewayRun(results, stored), settings


def _gateway_row(label: str, result: LoadResult) -> str:
    if isinstance(result, Failed):
        return f"| {label} | {result} | – | – |"
    s = result.summary
    return f"| {label} | {s.rate:,.1f} | {s.p50 * 1000:.1f} | {s.p99 * 1000:.1f} |"


# -- the report -----------------------------------------------------------------------------


def _trail_part(runs: Sequence[TrailRun], directory: Path, duration: float, warmup: float) -> str:
    lines = "\n".join(_trail_row(run) for run in runs)
    per = runs[0].events_per_record
    return f"""### The trail alone: durable appends

| producers | records/s | events/s | records per commit (mean) | per `record()` p50 / p99 ms |
|---|---|---|---|---|
{lines}

Goal (issue "Audit trail"): at least 5,000 durable records/s. Each producer awaits its own
`AuditTrail.record()` in a closed loop; a record is the demo psychiatric nurse's read of the
client's plan, which BALP makes into {per} events (REST and AuthZ). A fresh trail per row:
SQLite in WAL mode with synchronous=FULL (an fsync per commit) on {_filesystem(directory)}
(`{directory}`), group commit as in the gateway, a checkpoint signed every 1,000 events.
{duration:g} s measured per row after {warmup:g} s of warm-up; records per commit is the
mean over the commits that returned in the measured window.
"""


def _gateway_part(run: GatewayRun, settings: Settings, args: argparse.Namespace) -> str:
    on, off = run.results["trail"], run.results["discard"]
    cost = run.cost
    verdict = "not measured (a variant failed)" if cost is None else f"{cost * 100:.1f} % of throughput"
    store = "PostgreSQL (YHTEYS_AUDIT_DB_URL)" if settings.audit_db_url else "SQLite in the gateway's directory"
    return f"""### The gateway with audit on and off

| audit | req/s | p50 ms | p99 ms |
|---|---|---|---|
{_gateway_row("off (records discarded)", off)}
{_gateway_row("on (the trail)", on)}

Cost of audit: {verdict} (goal: under 10 %).

`GET CarePlan/demo-plan` through the gateway with a token of `{args.system}`;
{args.concurrency} workers in a closed loop, {args.rounds} × {args.duration:g} s measured per
variant, each after {args.warmup:g} s of warm-up, the variants alternating round by round,
all after {args.prime:g} s of unmeasured load. Both gateways are child processes started the
same way (`python -m bench.audited_gateway trail|discard`: uvicorn, one process, the same
HAPI), one recording into the trail ({store}), the other handing records to a sink
that drops them. At the end the audited gateway's trail held {run.stored_events["trail"]:,}
events (warm-up and start-up probes included), the other's {run.stored_events["discard"]:,}.
Load generator, both gateways and HAPI (heap {settings.hapi_heap}) share the machine's
{os.cpu_count()} cores.
"""


def _producers(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of counts >= 1")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--producers", type=_producers, default=[1, 16, 64, 256], help="comma-separated producer counts"
    )
    parser.add_argument("--trail-duration", type=float, default=5.0, help="seconds measured per producer count")
    parser.add_argument(
        "--trail-warmup", type=float, default=1.0, help="seconds run first per producer count, unmeasured"
    )
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()), help="where the trail's stores go")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per round and variant")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run first in each round, unmeasured")
    parser.add_argument("--prime", type=float, default=10.0, help="seconds of unmeasured load before the first round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per variant, alternating")
    parser.add_argument("--system", default="psychiatry-ehr", help="the demo system calling the gateway")
    parser.add_argument("--only", choices=("trail", "gateway"), help="run one part (not with --write)")
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    if args.write and args.only:
        parser.error("--write needs both parts: the section holds both")
    if args.duration + args.warmup > MAX_PHASE or args.prime / len(SINKS) > MAX_PHASE:
        parser.error(f"--duration + --warmup and --prime / 2 must stay within {MAX_PHASE:g} s (a token lives 300 s)")

    parts = []
    if args.only != "gateway":
        runs = [asyncio.run(measure_trail(args.dir, k, args.trail_duration, args.trail_warmup)) for k in args.producers]
        parts.append(_trail_part(runs, args.dir, args.trail_duration, args.trail_warmup))
    if args.only != "trail":
        run, settings = _run_gateways(args)
        parts.append(_gateway_part(run, settings, args))
    trail_options = (
        f"--producers {','.join(map(str, args.producers))} --trail-duration {args.trail_duration:g} "
        f"--trail-warmup {args.trail_warmup:g} --dir {args.dir}"
    )
    gateway_options = (
        f"--concurrency {args.concurrency} --duration {args.duration:g} --warmup {args.warmup:g} "
        f"--prime {args.prime:g} --rounds {args.rounds} --system {args.system}"
    )
    options = {None: f"{trail_options} {gateway_options}", "trail": trail_options, "gateway": gateway_options}
    command = f"python -m bench.audit {options[args.only]}" + (f" --only {args.only}" if args.only else "")
    body = f"## The audit trail: durable appends, and its cost to the gateway\n\n`{command}`\n\n" + "\n".join(parts)
    if args.write:
        write_section("audit", body)
    print(body)


if __name__ == "__main__":
    main()
