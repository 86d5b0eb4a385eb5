"""`yhteys import <source> FILE|-`: a source system's export into the shared plan, through the gateway.

    yhteys import school-welfare FILE|-   the school welfare record's CSV export
                                          [--dry-run] [--json] [--gateway URL] [--key FILE] [--as ROLE]

The import runs as the source system, a client of the gateway with its own registration and
key (by default the demo system's, in the gateway's directory, acting as its demo professional),
so role policy, consent and audit apply to it. It prints one line per client record (created,
updated, unchanged or rejected, with the column and the reason), or with `--json` the report as
JSON; a progress bar shows on a terminal. It exits 1 if any record was rejected, 2 if the export
could not be read at all.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress

from gateway.demo.clients import DEMO_CLIENTS
from gateway.settings import Settings, SettingsError
from mappings.client import GatewayClient, GatewayUnreachable, SourceSystem, TokenRefused
from mappings.school import Outcome, import_school, read_records
from mappings.spec import SPECS, load_spec
from mappings.tables import TableError

__all__ = ["import_app"]

import_app = typer.Typer(help="Import a source system's export into the shared plan.", no_args_is_help=True)

_SCHOOL_SCOPE = "system/CarePlan.rus system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"


@import_app.command("school-welfare")
def import_school_welfare(
    file: Annotated[str, typer.Argument(help="The CSV export, or - for standard input.")],
    dry_run: Annotated[bool, typer.Option(help="Check and map, write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    gateway: Annotated[str, typer.Option(help="The gateway's FHIR base (default: this gateway's).")] = "",
    key: Annotated[Path | None, typer.Option(help="The school system's private key, a JWK file.")] = None,
    as_role: Annotated[str, typer.Option("--as", help="The acting PractitionerRole.")] = "",
) -> None:
    """Import the school welfare record's export (see `mappings.school`)."""
    spec = load_spec(SPECS / "school-welfare.yaml")
    demo = next(c for c in DEMO_CLIENTS if c.client_id == spec.system["client_id"])
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _stop(str(exc), 2)
    data = sys.stdin.buffer.read() if file == "-" else _read(Path(file))
    try:
        records = read_records(data)
    except TableError as exc:
        _stop(f"{file}: {exc}", 2)
    system = SourceSystem(
        demo.client_id,
        key or settings.gateway_dir / f"{demo.client_id}.jwk",
        as_role or demo.practitioner_role,
        _SCHOOL_SCOPE,
    )
    client = GatewayClient(gateway or f"{settings.gateway_origin}/fhir", system)
    console = Console(stderr=True)

    async def run() -> list[Outcome]:
        try:
            with Progress(console=console, transient=True, disable=as_json or not console.is_terminal) as progress:
                task = progress.add_task("importing", total=len(records))
                return await import_school(
                    client,
                    records,
                    organization=demo.organization,
                    dry_run=dry_run,
                    advance=lambda: progress.advance(task),
                )
        finally:
            await client.close()

    try:
        outcomes = asyncio.run(run())
    except (GatewayUnreachable, TokenRefused) as exc:
        _stop(str(exc), 2)
    if as_json:
        print(json.dumps({"source": spec.source, "dry_run": dry_run, "records": [o.as_json() for o in outcomes]}))
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
