"""Shared by the import tests: clients with a henkilötunnus of their own, and an import run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from typer.testing import CliRunner, Result

from gateway.cli.main import app
from gateway.settings import Settings
from mappings.client import GatewayClient, SourceSystem
from mappings.plan import ClientRecord, Outcome, Rejected, Sector, import_records
from mappings.psychiatry.ack import Acknowledgement
from mappings.psychiatry.mllp import MllpListener, SeenMessages, send
from tests.e2e.gateway_harness import Client, copy_demo_client

T = TypeVar("T")
Handler = Callable[[str], Awaitable[Acknowledgement]]
OWNING = "https://yhteys.fi/fhir/StructureDefinition/activity-owning-sector"
IMPORT_SCOPE = "system/CarePlan.rus system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"


def client_with_own_hetu(fhir: httpx.Client) -> tuple[Client, str]:
    """A copy of the demo client and its own henkilötunnus."""
    client = copy_demo_client(fhir)
    return client, client.hetu


def run_import(
    settings: Settings, client_id: str, role: str, records: Sequence[ClientRecord | Rejected], sector: Sector, *,
    dry_run: bool = False,
) -> list[Outcome]:  # fmt: skip
    """`records` imported through the served gateway of `settings` as the demo system `client_id`."""
    system = SourceSystem(client_id, settings.gateway_dir / f"{client_id}.jwk", role, IMPORT_SCOPE)

    async def run() -> list[Outcome]:
        client = GatewayClient(f"{settings.gateway_origin}/fhir", system)
        try:
            return await import_records(client, records, sector, dry_run=dry_run)
        finally:
            await client.close()

    return asyncio.run(run())


def stored_plan(fhir: httpx.Client, client: Client) -> dict[str, Any]:
    """The client's plan as the store holds it."""
    body: dict[str, Any] = fhir.get(f"/{client.ref('plan')}", headers={"Cache-Control": "no-cache"}).json()
    return body


def owned(plan: dict[str, Any], sector: str) -> list[dict[str, Any]]:
    """The plan's activities owned by `sector`."""
    return [a for a in plan["activity"] if sector in json.dumps([e for e in a["extension"] if e["url"] == OWNING])]


def not_owned(plan: dict[str, Any], sector: str) -> list[str]:
    """The other sectors' activities, in no order (the order of a plan's activities means nothing)."""
    mine = owned(plan, sector)
    return sorted(json.dumps(a, sort_keys=True) for a in plan["activity"] if a not in mine)


@dataclass
class Listener:
    """`yhteys mllp listen` running as a process on `port`; `errors` its standard error once stopped."""

    port: int
    errors: str = ""
    exit_code: int | None = None


@contextmanager
def mllp_listener(settings: Settings, seen: Path, port: int) -> Iterator[Listener]:
    """`yhteys mllp listen` on loopback `port` as the psychiatry EHR's system of the served
    gateway `settings`, stopped by SIGTERM on exit (its exit code and stderr then recorded)."""
    key = settings.gateway_dir / "psychiatry-ehr.jwk"
    command = [sys.executable, "-c", "from gateway.cli.main import main; main()", "mllp", "listen", "--port", str(port),
               "--seen", str(seen), "--gateway", f"{settings.gateway_origin}/fhir", "--key", str(key)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ})
    listener = Listener(port)
    try:
        yield listener
    finally:
        process.send_signal(signal.SIGTERM)
        listener.exit_code = process.wait(timeout=20)
        if process.stderr:
            listener.errors = process.stderr.read()
            process.stderr.close()


def send_when_listening(arguments: Sequence[str], *, within: float = 30.0) -> Result:
    """`yhteys <arguments>` (a command that sends to a listener), repeated until it stops failing
    to connect (exit 2) or `within` seconds have passed; its last result."""
    deadline = time.monotonic() + within
    while True:
        result = CliRunner().invoke(app, list(arguments))
        if result.exit_code != 2 or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


EHR_SCOPE = (
    "system/CarePlan.rs system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"
    " system/Condition.crus system/Goal.crus system/CareTeam.rus"
)
"""What the psychiatry EHR's system asks for (as `yhteys mllp listen` does)."""
NURSE = "PractitionerRole/demo-role-psych-nurse"


def as_ehr(settings: Settings, work: Callable[[GatewayClient], Awaitable[T]], *, role: str = NURSE) -> T:
    """`work` run with a gateway client of the psychiatry EHR's system (acting as `role`), closed after."""
    system = SourceSystem("psychiatry-ehr", settings.gateway_dir / "psychiatry-ehr.jwk", role, EHR_SCOPE)

    async def run() -> T:
        client = GatewayClient(f"{settings.gateway_origin}/fhir", system)
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(run())


def over_mllp(
    settings: Settings, seen: Path, handler: Callable[[GatewayClient], Handler], messages: Sequence[str]
) -> list[str]:
    """The ACKs of `messages`, each sent on a connection of its own to an in-process listener whose
    handler is `handler(client)` of the EHR's system, with the record of answered messages `seen`."""

    async def work(client: GatewayClient) -> list[str]:
        with SeenMessages(seen) as answered:
            listener = MllpListener(handler(client), seen=answered)
            await listener.start()
            try:
                return [await send(listener.host, listener.port, message) for message in messages]
            finally:
                await listener.stop()

    return as_ehr(settings, work)
