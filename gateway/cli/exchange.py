"""`yhteys import|export <source>`: a source system's format to and from the shared plan, through the gateway.

    yhteys import school-welfare FILE|-    the school welfare record's CSV export
    yhteys import youth-services FILE|-    the municipal youth services' JSON export
    yhteys import psychiatry-hl7v2 FILE|-  the psychiatry EHR's HL7 v2 messages (as over MLLP)
        [--dry-run] [--json] [--gateway URL] [--key FILE] [--as ROLE]
    yhteys export school-welfare HETU      the client's plan as the school system sees it, as its CSV
    yhteys export youth-services HETU      ... as the youth services see it, as their JSON
    yhteys export psychiatry-hl7v2 HETU    ... as the psychiatry EHR sees it, as PPR and PGL messages
        [--send HOST:PORT]                 (and sends them to the EHR's MLLP listener)
        [--out FILE] [--gateway URL] [--key FILE] [--as ROLE]

An import runs as the source system, a client of the gateway with its own registration and key
(by default the demo system's, in the gateway's directory, acting as its demo professional), so
role policy, consent and audit apply to it. It prints one line per client record (updated,
unchanged or rejected, with the column or field and the reason), or with `--json` the report as
JSON; a progress bar shows on a terminal. It exits 1 if any record was rejected, 2 if the export
could not be read at all or the gateway could not be reached.

An export reads the client's active shared plan as the source system may see it (redaction
applied) and writes it in the source's format, the source's own activities with their local
codes, so that importing it again changes nothing; it exits 1 if there is no plan to see. The
psychiatry export writes one message per line group (segments on lines of their own); with
`--send` each goes to the EHR over MLLP and its ACK is printed; it exits 1 unless every ACK is AA.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress

from gateway.demo.clients import DEMO_CLIENTS
from gateway.settings import Settings, SettingsError
from mappings import school, youth
from mappings.client import GatewayClient, GatewayUnreachable, SourceSystem, TokenRefused
from mappings.plan import ClientRecord, Outcome, PlanNotFound, Rejected, Sector, import_records, read_plan
from mappings.psychiatry.ack import Unreadable, decode
from mappings.psychiatry.inbound import PsychiatryMessages, outcome_of, split_messages
from mappings.psychiatry.mllp import MllpError, send
from mappings.psychiatry.outbound import PsychiatryRecord, RecordNotFound, read_record, record_messages
from mappings.spec import SPECS, load_spec
from mappings.tables import TableError

__all__ = ["export_app", "gateway_client", "import_app"]

import_app = typer.Typer(help="Import a source system's export into the shared plan.", no_args_is_help=True)
export_app = typer.Typer(help="Write a client's shared plan in a source system's format.", no_args_is_help=True)

_SCOPE = "system/CarePlan.rus system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"
"""What an import needs: find the client and the plan, the professionals, and update the plan."""
_SCOPES = {"psychiatry-hl7v2": f"{_SCOPE} system/Condition.crus system/Goal.crus system/CareTeam.rus"}
"""What a source needs beyond that: the EHR records its own problems, goals and team members."""

_File = Annotated[str, typer.Argument(help="The export, or - for standard input.")]
_DryRun = Annotated[bool, typer.Option(help="Check and map, write nothing.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
_Gateway = Annotated[str, typer.Option(help="The gateway's FHIR base (default: this gateway's).")]
_Key = Annotated[Path | None, typer.Option(help="The source system's private key, a JWK file.")]
_As = Annotated[str, typer.Option("--as", help="The acting PractitionerRole.")]


@import_app.command("school-welfare")
def import_school_welfare(
    file: _File,
    dry_run: _DryRun = False,
    as_json: _Json = False,
    gateway: _Gateway = "",
    key: _Key = None,
    as_role: _As = "",
) -> None:
    """Import the school welfare record's CSV export (see `mappings.school`)."""
    _import("school-welfare", file, school.read_records, school.school_sector, dry_run, as_json, gateway, key, as_role)


@import_app.command("psychiatry-hl7v2")
def import_psychiatry(
    file: _File,
    dry_run: _DryRun = False,
    as_json: _Json = False,
    gateway: _Gateway = "",
    key: _Key = None,
    as_role: _As = "",
) -> None:
    """Apply a file of the psychiatry EHR's messages, one by one, as the MLLP listener does (see `mappings.psychiatry.inbound`)."""
    data = sys.stdin.buffer.read() if file == "-" else _read(Path(file))
    messages = split_messages(data)
    if not messages:
        _stop(f"{file}: no HL7 message (a line beginning MSH) in it", 2)
    client, organization, _ = gateway_client("psychiatry-hl7v2", gateway, key, as_role)
    handler = PsychiatryMessages(client, organization, dry_run=dry_run)

    async def work(advance: Callable[[], None]) -> list[Outcome]:
        outcomes = []
        for lines, raw in messages:
            try:
                received = decode(raw)
            except Unreadable as exc:
                outcomes.append(Outcome(lines, "rejected", column="MSH", reason=exc.problem.text, dry_run=dry_run))
            else:
                outcomes.append(outcome_of(lines, await handler.handle(received.text), dry_run=dry_run))
            advance()
        return outcomes

    _run_import("psychiatry-hl7v2", client, len(messages), work, dry_run, as_json)


@import_app.command("youth-services")
def import_youth_services(
    file: _File,
    dry_run: _DryRun = False,
    as_json: _Json = False,
    gateway: _Gateway = "",
    key: _Key = None,
    as_role: _As = "",
) -> None:
    """Import the municipal youth services' JSON export (see `mappings.youth`)."""
    _import("youth-services", file, youth.read_records, youth.youth_sector, dry_run, as_json, gateway, key, as_role)


_Hetu = Annotated[str, typer.Argument(help="The client's henkilötunnus.")]
_Out = Annotated[Path | None, typer.Option(help="Write here instead of standard output.")]


@export_app.command("school-welfare")
def export_school_welfare(
    hetu: _Hetu, out: _Out = None, gateway: _Gateway = "", key: _Key = None, as_role: _As = ""
) -> None:
    """Write the client's plan as the school system sees it, as its CSV (see `mappings.school`)."""
    _export("school-welfare", hetu, school.school_sector, school.to_csv, out, gateway, key, as_role)


@export_app.command("youth-services")
def export_youth_services(
    hetu: _Hetu, out: _Out = None, gateway: _Gateway = "", key: _Key = None, as_role: _As = ""
) -> None:
    """Write the client's plan as the youth services see it, as their JSON (see `mappings.youth`)."""
    _export("youth-services", hetu, youth.youth_sector, youth.to_json, out, gateway, key, as_role)


@export_app.command("psychiatry-hl7v2")
def export_psychiatry(
    hetu: _Hetu,
    out: _Out = None,
    send_to: Annotated[str, typer.Option("--send", help="The EHR's MLLP listener, HOST:PORT.")] = "",
    gateway: _Gateway = "",
    key: _Key = None,
    as_role: _As = "",
) -> None:
    """Write the client's record as the psychiatry EHR sees it, as PPR and PGL (see `mappings.psychiatry.outbound`)."""
    host, _, port = send_to.rpartition(":")
    if send_to and not (host and port.isdigit()):
        _stop(f"--send {send_to!r}: give HOST:PORT", 2)
    client, _, _ = gateway_client("psychiatry-hl7v2", gateway, key, as_role)

    async def run() -> PsychiatryRecord:
        try:
            return await read_record(client, hetu)
        finally:
            await client.close()

    try:
        record = asyncio.run(run())
    except (GatewayUnreachable, TokenRefused) as exc:
        _stop(str(exc), 2)
    except RecordNotFound as exc:
        _stop(str(exc), 1)
    messages = record_messages(record, datetime.now(UTC))
    text = "\n".join(message.replace("\r", "\n") + "\n" for message in messages)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    elif not send_to:
        sys.stdout.write(text)
    if send_to:
        _send_all(host, int(port), messages)


def _send_all(host: str, port: int, messages: Sequence[str]) -> None:
    """Send each message to the EHR and print its MSA; exit 1 unless all are AA, 2 if it cannot be reached."""
    accepted = True
    for message in messages:
        try:
            ack = asyncio.run(send(host, port, message))
        except MllpError as exc:
            _stop(str(exc), 2)
        msa = next((line for line in ack.split("\r") if line.startswith("MSA|")), "MSA|?")
        accepted = accepted and msa.startswith("MSA|AA|")
        print(msa)
    if not accepted:
        raise typer.Exit(1)


def _export(
    source: str,
    hetu: str,
    sector_of: Callable[[str], Sector],
    write: Callable[[str, Mapping[str, Any]], bytes],
    out: Path | None,
    gateway: str,
    key: Path | None,
    as_role: str,
) -> None:
    """Read `hetu`'s plan through the gateway as `source`'s system and write it with `write`."""
    client, organization, _ = gateway_client(source, gateway, key, as_role)

    async def run() -> dict[str, Any]:
        try:
            return await read_plan(client, hetu, sector_of(organization))
        finally:
            await client.close()

    try:
        plan = asyncio.run(run())
    except (GatewayUnreachable, TokenRefused) as exc:
        _stop(str(exc), 2)
    except PlanNotFound as exc:
        _stop(str(exc), 1)
    data = write(hetu, plan)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)


def gateway_client(source: str, gateway: str, key: Path | None, as_role: str) -> tuple[GatewayClient, str, Settings]:
    """The gateway client of `source`'s system (by default the demo system's key in the gateway's
    directory, acting as its demo professional), its organisation, and the settings read."""
    spec = load_spec(SPECS / f"{source}.yaml")
    demo = next(c for c in DEMO_CLIENTS if c.client_id == spec.system["client_id"])
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _stop(str(exc), 2)
    keyfile = key or settings.gateway_dir / f"{demo.client_id}.jwk"
    system = SourceSystem(demo.client_id, keyfile, as_role or demo.practitioner_role, _SCOPES.get(source, _SCOPE))
    return GatewayClient(gateway or f"{settings.gateway_origin}/fhir", system), demo.organization, settings


def _import(
    source: str,
    file: str,
    read: Callable[[bytes], Sequence[ClientRecord | Rejected]],
    sector_of: Callable[[str], Sector],
    dry_run: bool,
    as_json: bool,
    gateway: str,
    key: Path | None,
    as_role: str,
) -> None:
    """Read `file` with `read`, write it through the gateway as `source`'s system, report."""
    data = sys.stdin.buffer.read() if file == "-" else _read(Path(file))
    try:
        records = read(data)
    except (TableError, ValueError) as exc:
        _stop(f"{file}: {exc}", 2)
    client, organization, _ = gateway_client(source, gateway, key, as_role)
    sector = sector_of(organization)

    async def work(advance: Callable[[], None]) -> list[Outcome]:
        return await import_records(client, records, sector, dry_run=dry_run, advance=advance)

    _run_import(source, client, len(records), work, dry_run, as_json)


def _run_import(
    source: str,
    client: GatewayClient,
    total: int,
    work: Callable[[Callable[[], None]], Awaitable[list[Outcome]]],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run `work` (given a step of the progress bar, shown on a terminal), close `client`, report."""
    console = Console(stderr=True)

    async def run() -> list[Outcome]:
        try:
            with Progress(console=console, transient=True, disable=as_json or not console.is_terminal) as progress:
                task = progress.add_task("importing", total=total)
                return await work(lambda: progress.advance(task))
        finally:
            await client.close()

    try:
        outcomes = asyncio.run(run())
    except (GatewayUnreachable, TokenRefused) as exc:
        _stop(str(exc), 2)
    _report(source, outcomes, dry_run, as_json)


def _report(source: str, outcomes: Sequence[Outcome], dry_run: bool, as_json: bool) -> None:
    """Print one line per record (or the JSON report); exit 1 if any was rejected."""
    if as_json:
        print(json.dumps({"source": source, "dry_run": dry_run, "records": [o.as_json() for o in outcomes]}))
    else:
        for outcome in outcomes:
            print(_line(outcome))
    if any(outcome.status == "rejected" for outcome in outcomes):
        raise typer.Exit(1)


def _line(outcome: Outcome) -> str:
    """One record's outcome as a line: lines, status (what would be done, on a dry run), where, why."""
    lines = ",".join(str(line) for line in outcome.lines)
    status = f"would be {outcome.status}" if outcome.dry_run and outcome.status == "updated" else outcome.status
    where = f" {outcome.plan}" if outcome.plan else ""
    why = f": {outcome.column + ': ' if outcome.column else ''}{outcome.reason}" if outcome.reason else ""
    notes = "".join(f" ({note})" for note in outcome.notes)
    return f"lines {lines}: {status}{where}{why}{notes}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        _stop(f"{path}: {exc.strerror or exc}", 2)


def _stop(message: str, code: int) -> NoReturn:
    Console(stderr=True).print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(code)
