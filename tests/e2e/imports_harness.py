"""Shared by the import tests: clients with a henkilötunnus of their own, and an import run."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.fhir.hetu import hetu_check_character, parse_hetu
from gateway.fhir.media import FHIR_JSON
from gateway.settings import Settings
from mappings.client import GatewayClient, SourceSystem
from mappings.plan import ClientRecord, Outcome, Rejected, Sector, import_records
from tests.e2e.gateway_harness import Client, copy_demo_client

OWNING = "https://yhteys.fi/fhir/StructureDefinition/activity-owning-sector"
IMPORT_SCOPE = "system/CarePlan.rus system/Patient.rs system/Practitioner.rs system/PractitionerRole.rs"


def fresh_hetu() -> str:
    """A test henkilötunnus (individual number 900–999, born 2000–2009), valid."""
    day, month, year, individual = (random.randint(1, 28), random.randint(1, 12), random.randint(0, 9),
                                    random.randint(900, 999))  # fmt: skip
    digits = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
    return f"{digits[:6]}A{digits[6:]}{hetu_check_character(digits)}"


def client_with_own_hetu(fhir: httpx.Client) -> tuple[Client, str]:
    """A copy of the demo client given a henkilötunnus of its own, and the date of birth in it
    (other copies share the demo's)."""
    client, hetu = copy_demo_client(fhir), fresh_hetu()
    patient = fhir.get(f"/{client.ref('client')}").json()
    for identifier in patient["identifier"]:
        if identifier["system"] == "urn:oid:1.2.246.21":
            identifier["value"] = hetu
    patient["birthDate"] = parse_hetu(hetu).birth_date.isoformat()
    assert fhir.put(f"/{client.ref('client')}", json=patient, headers={"Content-Type": FHIR_JSON}).status_code == 200
    return client, hetu


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
