"""The source systems' throughput (issue 10): a school-welfare export of N records imported through
the gateway into HAPI, and HL7 v2 messages acknowledged over MLLP.

    python -m bench.imports [--records 10000] [--warmup-records 100] [--seed 2026]
                            [--messages adt] [--duration 10] [--mllp-warmup 2] [--rounds 2] [--write]

Starts HAPI with the demo and the gateway as production runs them (`bench.stack`), HAPI with an
access log (`bench.hapi_time`). Setup, untimed: `--records` + `--warmup-records` clients, each a
copy of the demo client's data (`gateway/demo/bundle.json`: the client, her needs, goals, team,
consent and active shared plan, as `tests/e2e/gateway_harness.copy_demo_client` copies them)
under ids of its own and with a henkilötunnus of its own (`bench_hetus`), written straight to
HAPI in transactions of `CLIENTS_PER_TRANSACTION` clients, `SETUP_TRANSACTIONS_AT_ONCE` at a
time; then the school system's CSV export of those clients (`school_export`: one to three rows each, with measure codes the ConceptMap
`school-support-measure` translates and the demo curator's name).

Import, as `yhteys import school-welfare` does it: the warm-up clients' export is imported
first, untimed; then the timed stages, each with its own gateway client as the command makes
(the school system `school-welfare-system` acting as `PractitionerRole/demo-role-curator`,
its own token):
- parse: `mappings.school.read_records` over the export's bytes;
- first import: `mappings.plan.import_records`, every record expected `updated`;
- second import of the same records, every record expected `unchanged`.
Each import is split by where its time went: waiting for the gateway's answers (the client's
transport times each whole answer, `TimedTransport`), of which HAPI's own processing time (what
HAPI's access log says each request the gateway sent took, summed; `bench.hapi_time`); the rest
is the importer's own work (mapping, JSON, signing its token). HAPI is the oracle: after the
first import every plan must be last written since it began, after the second none. A record
with another outcome fails the stage, reported FAILED with what happened, never as a number.

MLLP: the listener as `yhteys mllp listen` serves it (`bench.mllp_listener`, a child process)
with the handler of `--messages` (`adt`: ADT^A04 by `mappings.psychiatry.adt.PatientMessages`,
the client looked up through the gateway as `psychiatry-ehr`), fed by 1 and by 8 connections
in closed loops (`bench.load.run_load`; each connection sends a message, with an MSH-10 of its
own, and waits for its ACK), `--rounds` rounds each, the two alternating. Only an AA answering
the message sent counts; any other ACK stops the run, reported FAILED with its MSA-1 and MSA-3.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import itertools
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.hapi_time import AccessLog, Served, access_logged, kind_of
from bench.load import Attempt, Call, Failed, LoadResult, run_load, together
from bench.mllp_listener import HANDLERS
from bench.report import write_section
from bench.stack import StackError, environment, hapi_with_demo, log_tail, served_gateway, stop_child
from gateway.demo import demo_bundle
from gateway.demo.clients import DEMO_CLIENTS
from gateway.fhir.hetu import hetu_check_character, parse_hetu
from gateway.fhir.systems import HETU_SYSTEM
from gateway.settings import Settings
from mappings.client import GatewayClient, GatewayUnreachable, SourceSystem, TokenRefused
from mappings.plan import ClientRecord, Outcome, Rejected, Status, import_records
from mappings.psychiatry.ack import new_control_id, read_header, unescape
from mappings.psychiatry.mllp import MllpConnection, MllpError
from mappings.school import COLUMNS, LOCAL_MEASURE_SYSTEM, read_records, school_sector
from mappings.translate import ConceptMapTable
from tests.ports import free_port

__all__ = [
    "CLIENTS_PER_TRANSACTION",
    "CONNECTIONS",
    "GOAL_RECORDS",
    "GOAL_SECONDS",
    "MESSAGES",
    "SETUP_TRANSACTIONS_AT_ONCE",
    "ImportRun",
    "MessageBuilder",
    "StageFailed",
    "TimedTransport",
    "adt_a04",
    "bench_hetus",
    "client_resources",
    "main",
    "read_msa",
    "school_export",
]

GOAL_RECORDS = 10_000
GOAL_SECONDS = 60.0
"""The goal: 10,000 records imported in at most 60 s."""
CLIENTS_PER_TRANSACTION = 30
"""Clients per setup transaction (ten resources each)."""
SETUP_TRANSACTIONS_AT_ONCE = 2
"""Setup transactions in flight at once (HAPI has two cores to write with)."""
CONNECTIONS = (1, 8)
"""The MLLP connections measured."""
FHIR_JSON = "application/fhir+json"

_SCHOOL_SYSTEM = "school-welfare-system"
_CURATOR_ROLE = "PractitionerRole/demo-role-curator"
_IMPORT_SCOPE = "system/CarePlan.rus system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"
"""What `yhteys import` asks for (gateway.cli.exchange)."""
_CLIENT_IDS = re.compile(r"demo-(client|need-[a-z]+|goal-[a-z]+|team|plan|consent)\b")
"""The ids of the demo client's own resources (as tests/e2e/gateway_harness.py copies them)."""
_PREFIX = "@@prefix@@"
_SCHOOLS = ("Ylöjärven lukio", "Oulun Lyseon lukio", "Tampereen ammattiopisto", "Rovaniemen koulu")
_DESCRIPTIONS = {
    "KT": "Kuraattoritapaamiset",
    "PT": "Psykologin tapaamiset",
    "HOKS": "Henkilökohtainen osaamisen kehittämissuunnitelma päivitetään",
    "POS": "Poissaolojen seuranta huoltajan kanssa",
    "RYH": "Ryhmätoiminta",
    "MAR": "Monialainen asiantuntijaryhmä",
}
_MEETINGS = ("tiistaisin klo 10–11", "kerran viikossa", "kahden viikon välein", "kerran kuukaudessa", "")
_MLLP_START_TIMEOUT = 60.0


class StageFailed(Exception):
    """A stage that did not do what it must (a record with another outcome, a refused request):
    it has no numbers, only what went wrong."""

    def __str__(self) -> str:
        return f"FAILED ({' '.join(str(self.args[0]).split())})".replace("|", "\\|")


class NotRun(StageFailed):
    """A stage not run because one it needs failed."""

    def __str__(self) -> str:
        return "not run (an earlier stage failed)"


# -- setup: clients and their export ---------------------------------------------------------------


def bench_hetus(count: int, taken: Collection[str] = ()) -> list[str]:
    """`count` distinct valid henkilötunnukset for testing (individual numbers 900–999, born in
    2000–2009, century sign A), none of them in `taken`; the same list on every call.

    Dates of birth are spread over the decade (day 37·k of it, modulo its length; 37 is prime to
    the 3,653 days, so no date repeats); `ValueError` past 365,300 codes."""
    first = date(2000, 1, 1)
    days = (date(2010, 1, 1) - first).days
    codes: list[str] = []
    numbers = itertools.count()
    while len(codes) < count:
        slot, individual = divmod(next(numbers), 100)
        if slot >= days:
            raise ValueError(f"at most {days * 100} test codes are made here")
        born = first + timedelta(days=slot * 37 % days)
        digits = f"{born:%d%m%y}{900 + individual}"
        code = f"{digits[:6]}A{digits[6:]}{hetu_check_character(digits)}"
        if code not in taken:
            codes.append(code)
    return codes


def _demo_client_template() -> str:
    """The demo client's own resources as JSON text, their ids' `demo` replaced by a placeholder."""
    resources = [e["resource"] for e in demo_bundle()["entry"] if _CLIENT_IDS.fullmatch(e["resource"]["id"])]
    return _CLIENT_IDS.sub(lambda m: f"{_PREFIX}-{m.group(1)}", json.dumps(resources, ensure_ascii=False))


def client_resources(template: str, index: int, hetu: str) -> list[dict[str, Any]]:
    """Client `index`'s copy of the demo client's resources (`template`: `_demo_client_template()`),
    ids `bench-<index>-client`, `bench-<index>-plan`, ...: her own henkilötunnus `hetu`, the date of
    birth and sex in it, and identifiers of her own for the plan and the team."""
    resources: list[dict[str, Any]] = json.loads(template.replace(_PREFIX, f"bench-{index}"))
    identity = parse_hetu(hetu)
    for resource in resources:
        kind = resource["resourceType"]
        if kind == "Patient":
            for identifier in resource["identifier"]:
                if identifier["system"] == HETU_SYSTEM:
                    identifier["value"] = hetu
            resource["birthDate"] = identity.birth_date.isoformat()
            resource["gender"] = "male" if identity.individual % 2 else "female"
        elif kind in ("CarePlan", "CareTeam"):
            resource["identifier"][0]["value"] = f"{kind.upper()}-BENCH-{index:06d}"
    return resources


def _transaction(hapi_base: str, template: str, hetus: Sequence[str], start: int) -> bytes:
    """The setup transaction of clients `start` to `start + CLIENTS_PER_TRANSACTION` (PUTs)."""
    entries = [
        {
            "fullUrl": f"{hapi_base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
        }
        for index in range(start, min(start + CLIENTS_PER_TRANSACTION, len(hetus)))
        for resource in client_resources(template, index, hetus[index])
    ]
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}, ensure_ascii=False).encode()


async def _write_clients(hapi_base: str, hetus: Sequence[str]) -> int:
    """Write a copy of the demo client for each of `hetus` (client i has `hetus[i]`) straight to
    HAPI, `CLIENTS_PER_TRANSACTION` clients a transaction, `SETUP_TRANSACTIONS_AT_ONCE` at a
    time; the number of transactions. `StageFailed` if HAPI refuses one."""
    template = _demo_client_template()
    starts = iter(range(0, len(hetus), CLIENTS_PER_TRANSACTION))
    total = -(-len(hetus) // CLIENTS_PER_TRANSACTION)
    progress = _progress("setup transactions", total)
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}

    async def writer(client: httpx.AsyncClient) -> None:
        for start in starts:  # shared: each start is taken by one writer
            answer = await client.post(hapi_base, content=_transaction(hapi_base, template, hetus, start))
            if answer.status_code != 200:
                raise StageFailed(f"HAPI refused the setup transaction ({answer.status_code}): {_words(answer)}")
            progress()

    async with httpx.AsyncClient(timeout=600.0, headers=headers) as client:
        await asyncio.gather(*(writer(client) for _ in range(SETUP_TRANSACTIONS_AT_ONCE)))
    return total


def _demo_curator() -> str:
    """The demo curator's name as the export writes it ("Laura Heikkinen")."""
    for entry in demo_bundle()["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Practitioner" and resource["id"] == "demo-pr-curator":
            name = resource["name"][0]
            return " ".join([*name.get("given", []), name["family"]])
    raise LookupError("the demo has no Practitioner/demo-pr-curator")


def _demo_hetu() -> str:
    for entry in demo_bundle()["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            return str(next(i["value"] for i in resource["identifier"] if i["system"] == HETU_SYSTEM))
    raise LookupError("the demo has no Patient")


def school_export(hetus: Sequence[str], curator: str, seed: int, measures: ConceptMapTable | None = None) -> bytes:
    """The school system's CSV export (UTF-8 with a BOM, `;`, Finnish headings, as `school.to_csv`
    writes it) of one record per henkilötunnus of `hetus`: one to three rows, each a different
    measure code the ConceptMap translates, the professional `curator`, a school, meetings and a
    waiting time of 1–10 working days (over 7 is noted, not refused); the same for the same seed."""
    table = measures or ConceptMapTable.load("school-support-measure")
    codes = sorted(code for system, code in table.targets if system == LOCAL_MEASURE_SYSTEM)
    rng = random.Random(seed)
    columns = ("hetu", "code", "measure", "professional", "school", "meetings", "waiting")
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([COLUMNS[name][0] for name in columns])
    for hetu in hetus:
        school = rng.choice(_SCHOOLS)
        for code in sorted(rng.sample(codes, rng.randint(1, 3))):
            described = _DESCRIPTIONS.get(code) or table.targets[(LOCAL_MEASURE_SYSTEM, code)].display
            writer.writerow([hetu, code, described, curator, school, rng.choice(_MEETINGS), rng.randint(1, 10)])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


# -- import ----------------------------------------------------------------------------------------------


class TimedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, counting the requests sent and the seconds until each answer was
    read whole (the time the caller waited for the server)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests = 0
        self.seconds = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        self.seconds += time.perf_counter() - started
        self.requests += 1
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class ImportRun:
    """One import: its wall seconds, the outcomes by status, the requests to the gateway and the
    seconds waited for them, what HAPI served meanwhile, and how many plans HAPI says were written."""

    records: int
    seconds: float
    statuses: Mapping[str, int]
    gateway_requests: int
    gateway_seconds: float
    hapi: tuple[Served, ...]
    plans_written: int

    @property
    def hapi_seconds(self) -> float:
        """HAPI's processing time of the requests it served during the import, summed."""
        return sum(s.micros for s in self.hapi) / 1e6

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def _school_client(settings: Settings) -> tuple[GatewayClient, TimedTransport]:
    """The school system's gateway client as `yhteys import` makes it, over a `TimedTransport`."""
    system = SourceSystem(_SCHOOL_SYSTEM, settings.gateway_dir / f"{_SCHOOL_SYSTEM}.jwk", _CURATOR_ROLE, _IMPORT_SCOPE)
    transport = TimedTransport()
    return GatewayClient(f"{settings.gateway_origin}/fhir", system, transport=transport), transport


def _school_organization() -> str:
    return next(c.organization for c in DEMO_CLIENTS if c.client_id == _SCHOOL_SYSTEM)


async def _import(
    settings: Settings, records: Sequence[ClientRecord | Rejected], expected: Status, log: AccessLog, label: str
) -> ImportRun:
    """Import `records` as the school system; `StageFailed` unless every outcome is `expected`
    and HAPI holds as many plans written since the import began as records (`updated`) or
    none (`unchanged`)."""
    client, transport = _school_client(settings)
    sector = school_sector(_school_organization())
    progress = _progress(f"{label} import", len(records))
    since = datetime.now(UTC)
    await log.mark(f"{label}-begin")
    started = time.perf_counter()
    try:
        outcomes = await import_records(client, records, sector, advance=progress)
    except (GatewayUnreachable, TokenRefused) as exc:
        raise StageFailed(str(exc)) from None
    finally:
        seconds = time.perf_counter() - started
        await client.close()
    await log.mark(f"{label}-end")
    _check(outcomes, expected)
    written = await _plans_written_since(settings.hapi_base_url, since)
    wanted = len(records) if expected == "updated" else 0
    if written != wanted:
        raise StageFailed(f"HAPI holds {written} plans written since the import began, not {wanted}")
    return ImportRun(
        len(records),
        seconds,
        dict(Counter(o.status for o in outcomes)),
        transport.requests,
        transport.seconds,
        tuple(log.between(f"{label}-begin", f"{label}-end")),
        written,
    )


def _progress(what: str, total: int) -> Callable[[], None]:
    """A callback to call once per item done: it says on standard error when each tenth is done."""
    done = itertools.count(1)
    step = max(1, total // 10)

    def advance() -> None:
        if (n := next(done)) % step == 0:
            print(f"  {what}: {n:,} of {total:,}", file=sys.stderr)

    return advance


def _check(outcomes: Sequence[Outcome], expected: Status) -> None:
    """`StageFailed` naming the first few outcomes that are not `expected`, if any is."""
    wrong = [o for o in outcomes if o.status != expected]
    if wrong:
        counts = ", ".join(f"{n} {status}" for status, n in Counter(o.status for o in outcomes).most_common())
        examples = "; ".join(
            f"lines {','.join(map(str, o.lines))} {o.status}"
            + (f" ({o.column}: {o.reason})" if o.column else f" ({o.reason})" if o.reason else "")
            for o in wrong[:3]
        )
        raise StageFailed(f"{len(wrong)} of {len(outcomes)} records not {expected} ({counts}): {examples}")


async def _plans_written_since(hapi_base: str, since: datetime) -> int:
    """How many CarePlans HAPI holds as last written at or after `since` (a count search)."""
    params = {"_lastUpdated": f"ge{since.isoformat(timespec='milliseconds')}", "_summary": "count"}
    async with httpx.AsyncClient(timeout=120.0) as client:
        answer = await client.get(f"{hapi_base}/CarePlan", params=params, headers={"Accept": FHIR_JSON})
    total = answer.json().get("total") if answer.status_code == 200 else None
    if not isinstance(total, int):
        raise StageFailed(f"HAPI did not count the CarePlans written since the import began ({answer.status_code})")
    return total


def _parse(data: bytes, count: int) -> tuple[float, list[ClientRecord | Rejected]]:
    """Time `read_records` over `data`; `StageFailed` unless it reads `count` records, none rejected."""
    started = time.perf_counter()
    records = read_records(data)
    seconds = time.perf_counter() - started
    rejected = [r for r in records if isinstance(r, Rejected)]
    if rejected or len(records) != count:
        first = f": lines {rejected[0].lines} {rejected[0].column} {rejected[0].reason}" if rejected else ""
        raise StageFailed(f"the export read as {len(records)} records, {len(rejected)} rejected, not {count}{first}")
    return seconds, records


# -- MLLP ---------------------------------------------------------------------------------------------------


def adt_a04(hetu: str, control_id: str, now: datetime) -> str:
    """An ADT^A04 (register a patient) of the psychiatry EHR for the client `hetu`: PID-3 the
    henkilötunnus (1.2.246.21, NNFIN), PID-7 and PID-8 the date of birth and sex in it."""
    identity = parse_hetu(hetu)
    stamp = now.strftime("%Y%m%d%H%M%S")
    sex = "M" if identity.individual % 2 else "F"
    return "\r".join(
        [
            f"MSH|^~\\&|PSYK-EHR|DEMOSAIRAALA|YHTEYS|HYVINVOINTIALUE|{stamp}||ADT^A04^ADT_A01|{control_id}|P|2.5"
            "|||||FIN|UNICODE UTF-8",
            f"EVN|A04|{stamp}",
            f"PID|1||{hetu}^^^&1.2.246.21&ISO^NNFIN||Kallio^Aino||{identity.birth_date:%Y%m%d}|{sex}",
            "PV1|1|O",
        ]
    )


MessageBuilder = Callable[[str, str, datetime], str]
"""A message kind's message for a client's henkilötunnus, a control id (MSH-10) and a time."""
MESSAGES: Mapping[str, MessageBuilder] = {"adt": adt_a04}
"""Message kind (`--messages`, and the handler of `bench.mllp_listener.HANDLERS` it goes to) →
its `MessageBuilder`."""


def read_msa(ack: str) -> tuple[str, str, str]:
    """MSA-1 (the acknowledgement code), MSA-2 (the control id answered) and MSA-3 (the text,
    unescaped) of an ACK; `ValueError` if it has no MSA segment."""
    separators = read_header(ack).separators
    for segment in re.split(r"[\r\n]+", ack):
        if segment.startswith("MSA"):
            fields = [*segment.split(separators.field), "", "", ""]
            return fields[1], fields[2], unescape(fields[3], separators)
    raise ValueError("the ACK has no MSA segment")


def _mllp_call(connections: Sequence[MllpConnection], hetus: Iterator[str], build: MessageBuilder) -> Call:
    """Worker n sends, on connection n, the next client's message and waits for its ACK; only an
    AA answering that message's control id is a success (status 200 for `run_load`)."""

    async def call(worker: int) -> Attempt:
        control = new_control_id()
        message = build(next(hetus), control, datetime.now(UTC))
        started = time.perf_counter()
        ack = await connections[worker].exchange(message)
        seconds = time.perf_counter() - started
        code, answered, text = read_msa(ack)
        if code != "AA":
            return Attempt(0, seconds, f"MSA-1 {code}, MSA-3: {text}")
        if answered != control:
            return Attempt(0, seconds, f"the AA answers MSA-2 {answered!r}, not the message sent ({control})")
        return Attempt(200, seconds)

    return call


async def _measure_mllp(
    port: int, hetus: Sequence[str], build: MessageBuilder, duration: float, warmup: float, rounds: int
) -> dict[int, LoadResult]:
    """connections → the closed loops' result over every round, the connection counts alternating."""
    clients = itertools.cycle(hetus)
    pooled: dict[int, LoadResult] = {}
    for round_number in range(rounds):
        for count in CONNECTIONS if round_number % 2 == 0 else CONNECTIONS[::-1]:
            connections = [await MllpConnection.open("127.0.0.1", port) for _ in range(count)]
            try:
                call = _mllp_call(connections, clients, build)
                result = await run_load(call, concurrency=count, duration=duration, warmup=warmup)
            finally:
                for connection in connections:
                    await connection.close()
            pooled[count] = together(pooled.get(count), result)
    return pooled


@contextmanager
def _mllp_listener(settings: Settings, kind: str) -> Iterator[int]:
    """`python -m bench.mllp_listener kind` for the stack of `settings`, on a free port (yielded)."""
    port = free_port()
    log_file = settings.data_dir / "mllp-listener.log"
    seen = settings.data_dir / "mllp-seen.sqlite"
    command = [sys.executable, "-m", "bench.mllp_listener", kind, "--port", str(port), "--seen", str(seen)]
    with log_file.open("wb") as log:
        child = subprocess.Popen(
            command, env=environment(settings), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + _MLLP_START_TIMEOUT
        while True:
            if child.poll() is not None:
                raise StackError(f"the MLLP listener exited with {child.returncode}:\n{log_tail(log_file)}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise StackError(f"the MLLP listener did not listen on {port}:\n{log_tail(log_file)}") from None
                time.sleep(0.1)
        yield port
    finally:
        stop_child(child)


# -- the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Results:
    records: int
    warmup_records: int
    setup_seconds: float
    transactions: int
    export_rows: int
    export_bytes: int
    parse: tuple[float, int] | StageFailed
    first: ImportRun | StageFailed
    second: ImportRun | StageFailed
    mllp: Mapping[int, LoadResult] | StageFailed


def _words(response: httpx.Response) -> str:
    """What a refusal says: its OperationOutcome's diagnostics, or its first bytes."""
    try:
        issues = response.json().get("issue", [])
    except (ValueError, AttributeError):
        return response.text[:300]
    return "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues if isinstance(i, dict))[:300]


def _s(seconds: float) -> str:
    return f"{seconds:,.1f}"


def _share(part: float, whole: float) -> str:
    return f"{_s(part)} s ({part / whole:.0%})"


def _import_rows(label: str, run: ImportRun | StageFailed) -> str:
    if isinstance(run, StageFailed):
        return f"| {label} | {run} | | |"
    statuses = ", ".join(f"{n:,} {status}" for status, n in sorted(run.statuses.items()))
    return (
        f"| {label} | {_s(run.seconds)} s | {run.rate:,.1f} | {statuses}; HAPI: {run.plans_written:,} plans written |"
    )


_PARTS: tuple[tuple[str, Callable[[ImportRun], float]], ...] = (
    ("the importer's own work (wall − waiting for the gateway)", lambda r: r.seconds - r.gateway_seconds),
    ("the gateway's own work (waiting for it − inside HAPI)", lambda r: r.gateway_seconds - r.hapi_seconds),
    ("inside HAPI (its processing times, summed)", lambda r: r.hapi_seconds),
)


def _split(runs: Mapping[str, ImportRun]) -> str:
    """Where each import's time went, as a Markdown table (a column per import)."""
    lines = [
        "| where the time went | " + " | ".join(runs) + " |",
        "|---|" + "---|" * len(runs),
        *(
            f"| {what} | " + " | ".join(_share(part(r), r.seconds) for r in runs.values()) + " |"
            for what, part in _PARTS
        ),
        "| requests to the gateway per record | "
        + " | ".join(f"{r.gateway_requests / r.records:.2f}" for r in runs.values())
        + " |",
        "| requests to HAPI per record | " + " | ".join(f"{len(r.hapi) / r.records:.2f}" for r in runs.values()) + " |",
    ]
    return "\n".join(lines)


def _hapi_kinds(runs: Mapping[str, ImportRun]) -> str:
    """What HAPI served during each import, by kind of request, the costliest first."""
    served: dict[str, dict[str, list[Served]]] = {}
    for name, run in runs.items():
        for request in run.hapi:
            served.setdefault(kind_of(request), {n: [] for n in runs})[name].append(request)
    lines = [
        "| HAPI request | " + " | ".join(f"{name}: per record / mean ms / total s" for name in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for kind, by_run in sorted(served.items(), key=lambda item: -sum(r.micros for v in item[1].values() for r in v)):
        cells = []
        for name, requests in by_run.items():
            if not requests:
                cells.append("–")
                continue
            total = sum(r.micros for r in requests) / 1e6
            refused = sum(1 for r in requests if not 200 <= r.status < 300)
            note = f"; {refused:,} answered 4xx/5xx" if refused else ""
            per_record = len(requests) / runs[name].records
            cells.append(f"{per_record:.2f} / {total / len(requests) * 1000:.2f} / {_s(total)}{note}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mllp_rows(results: Mapping[int, LoadResult] | StageFailed) -> str:
    if isinstance(results, StageFailed):
        return f"| all | {results} | | | |"
    lines = []
    for count in CONNECTIONS:
        result = results[count]
        if isinstance(result, Failed):
            lines.append(f"| {count} | {result} | | | |")
        else:
            s = result.summary
            lines.append(f"| {count} | {s.count:,} | {s.rate:,.1f} | {s.p50 * 1000:.1f} | {s.p99 * 1000:.1f} |")
    return "\n".join(lines)


def _render(results: _Results, command: str, args: argparse.Namespace, hapi_heap: str) -> str:
    first, second, parse = results.first, results.second, results.parse
    goal_rate = GOAL_RECORDS / GOAL_SECONDS
    if isinstance(parse, StageFailed) or isinstance(first, StageFailed):
        verdict = "not measured (a stage failed)"
        total = ""
    else:
        seconds = parse[0] + first.seconds
        rate = results.records / seconds
        scaled = "" if results.records == GOAL_RECORDS else f" (this run had {results.records:,} records)"
        verdict = f"{'met' if rate >= goal_rate else 'not met'}: {rate:,.1f} records/s{scaled}"
        total = f"{_s(seconds)} s"
    parse_row = (
        f"| parse (`read_records` over the export) | {parse} | | |"
        if isinstance(parse, StageFailed)
        else f"| parse (`read_records` over the export) | {parse[0]:.2f} s | {results.records / parse[0]:,.0f} | "
        f"{parse[1]:,} records, none rejected |"
    )
    runs = {
        name: run for name, run in (("first import", first), ("second import", second)) if isinstance(run, ImportRun)
    }
    split = f"{_split(runs)}\n\n{_hapi_kinds(runs)}" if runs else "No import completed, so there is no split."
    body = f"""## Imports: {results.records:,} school-welfare records, and HL7 v2 over MLLP (issue 10)

`{command}`

| stage | time | records/s | outcome |
|---|---|---|---|
{parse_row}
{_import_rows("first import (map + gateway + HAPI)", first)}
{_import_rows("second import, the same export", second)}
| parse + first import, against the goal of ≤ {GOAL_SECONDS:g} s for {GOAL_RECORDS:,} (≥ {goal_rate:,.1f} records/s) | {total} | | {verdict} |

{split}

| MLLP connections | messages acknowledged AA (measured) | messages/s | p50 ms | p99 ms |
|---|---|---|---|---|
{_mllp_rows(results.mllp)}

Setup, untimed: {results.records + results.warmup_records:,} clients, each a copy of the demo
client's ten resources (her needs, goals, team, consent and active shared plan) with a test
henkilötunnus of its own, written straight to HAPI in {results.transactions:,} transactions of up to
{CLIENTS_PER_TRANSACTION} clients ({SETUP_TRANSACTIONS_AT_ONCE} at a time), took {_s(results.setup_seconds)} s; the export has {results.export_rows:,}
rows ({results.export_bytes / 1024:,.0f} KiB) for the {results.records:,} timed clients, 1–3 measures each,
all by the demo curator. Before the timed stages, the {results.warmup_records:,} other clients' export
was imported unmeasured. Each import runs as `yhteys import school-welfare` does: one gateway
client of `school-welfare-system` acting as the demo curator (its token exchange inside the
time), `mappings.plan.import_records` taking one record after another; the first import must
make every record `updated`, the second find every plan as it should be (`unchanged`), and HAPI
must agree (a count of the CarePlans last written since each import began: all, then none). The split: the importer's
client timed how long it waited for each whole answer of the gateway; HAPI's access log
(Tomcat's processing time, from reading the request to completing the response) gave the time
HAPI took for each request the gateway sent it meanwhile, summed (requests the gateway sends
in parallel overlap, so the gateway's own share is if anything larger than shown). The gateway
runs as `yhteys gateway serve` (uvicorn, one process, audit fsynced per request).

MLLP: the listener as `yhteys mllp listen` serves it, in a child process, with the
`{args.messages}` handler (ADT^A04, the client looked up through the gateway as
`psychiatry-ehr`, every answered message remembered in its SQLite file); each connection sends
a message (a distinct MSH-10, the clients taken in turn) and waits for its ACK. {args.rounds} ×
{args.duration:g} s measured per connection count, each after {args.mllp_warmup:g} s of warm-up, 1 and 8
connections alternating. Latency is from sending the frame to reading the whole ACK.
The load generator, the listener, the gateway and HAPI (heap {hapi_heap}) share the machine's
cores.
"""
    return body


# -- the run ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=GOAL_RECORDS, help="client records in the timed export")
    parser.add_argument("--warmup-records", type=int, default=100, help="other clients imported first, unmeasured")
    parser.add_argument("--seed", type=int, default=2026, help="of the export's measures, schools and times")
    parser.add_argument("--messages", choices=sorted(set(MESSAGES) & set(HANDLERS)), default="adt")
    parser.add_argument("--duration", type=float, default=10.0, help="MLLP seconds measured per round and count")
    parser.add_argument("--mllp-warmup", type=float, default=2.0, help="MLLP seconds unmeasured before each")
    parser.add_argument("--rounds", type=int, default=2, help="MLLP rounds, 1 and 8 connections alternating")
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    if args.records < 1 or args.warmup_records < 0:
        parser.error("--records must be at least 1 and --warmup-records not negative")
    hetus = bench_hetus(args.records + args.warmup_records, taken={_demo_hetu()})
    timed, warmup = hetus[: args.records], hetus[args.records :]
    curator = _demo_curator()
    export = school_export(timed, curator, args.seed)
    warmup_export = school_export(warmup, curator, args.seed + 1) if warmup else b""
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="yhteys-bench-access-") as logs,
        access_logged(Path(logs)),
        hapi_with_demo() as settings,
        served_gateway(settings),
    ):
        print(f"stack up in {time.monotonic() - started:.0f} s; writing {len(hetus):,} clients", file=sys.stderr)
        began = time.perf_counter()
        try:
            transactions = asyncio.run(_write_clients(settings.hapi_base_url, hetus))
        except StageFailed as exc:
            sys.exit(f"setup {exc}")
        setup_seconds = time.perf_counter() - began
        print(f"setup {setup_seconds:.0f} s; importing", file=sys.stderr)
        log = AccessLog(Path(logs), settings.hapi_base_url)
        parse, first, second = asyncio.run(_imports(settings, log, export, warmup_export, args))
        print("measuring MLLP", file=sys.stderr)
        mllp: Mapping[int, LoadResult] | StageFailed
        try:
            with _mllp_listener(settings, args.messages) as port:
                mllp = asyncio.run(
                    _measure_mllp(port, timed, MESSAGES[args.messages], args.duration, args.mllp_warmup, args.rounds)
                )
        except (StackError, MllpError) as exc:
            mllp = StageFailed(f"{type(exc).__name__}: {exc}")
        hapi_heap = settings.hapi_heap
    results = _Results(
        args.records,
        args.warmup_records,
        setup_seconds,
        transactions,
        export.count(b"\r\n") - 1,
        len(export),
        parse,
        first,
        second,
        mllp,
    )
    command = (
        f"python -m bench.imports --records {args.records} --warmup-records {args.warmup_records} "
        f"--seed {args.seed} --messages {args.messages} --duration {args.duration:g} "
        f"--mllp-warmup {args.mllp_warmup:g} --rounds {args.rounds}"
    )
    body = _render(results, command, args, hapi_heap)
    if args.write:
        write_section("imports", body)
    print(body)


async def _imports(
    settings: Settings, log: AccessLog, export: bytes, warmup_export: bytes, args: argparse.Namespace
) -> tuple[tuple[float, int] | StageFailed, ImportRun | StageFailed, ImportRun | StageFailed]:
    """Warm-up import, then parse, first and second import; a failed stage stops those after it."""
    not_run = NotRun("an earlier stage failed")
    try:
        if warmup_export:
            await _import(settings, read_records(warmup_export), "updated", log, "warmup")
    except StageFailed as exc:
        failed = StageFailed(f"the warm-up import failed: {exc.args[0]}")
        return failed, not_run, not_run
    try:
        seconds, records = _parse(export, args.records)
    except StageFailed as exc:
        return exc, not_run, not_run
    try:
        first = await _import(settings, records, "updated", log, "first")
    except StageFailed as exc:
        return (seconds, len(records)), exc, not_run
    try:
        second: ImportRun | StageFailed = await _import(settings, records, "unchanged", log, "second")
    except StageFailed as exc:
        second = exc
    return (seconds, len(records)), first, second


if __name__ == "__main__":
    main()
