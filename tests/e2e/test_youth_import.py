"""The municipal youth services' JSON export into the shared plan through the served gateway (issue 10).

As the youth services' system (its own registration and token, acting as the demo youth worker
Tuomas Väisänen), into fresh copies of the demo client with a henkilötunnus of their own. The
youth services are the municipality's: without the client's consent naming them, nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gateway.audit.setup import open_store
from gateway.cli.main import app
from gateway.settings import Settings
from mappings.plan import Outcome
from mappings.youth import read_records, youth_sector
from tests.e2e.gateway_harness import Client
from tests.e2e.imports_harness import client_with_own_hetu, not_owned, owned, run_import, stored_plan

YOUTH = youth_sector("Organization/demo-org-youth-services")
SECTOR = "municipal-youth-services"
SAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "samples"


@pytest.fixture
def young(fhir: httpx.Client) -> tuple[Client, str]:
    """A copy of the demo client whose consent lets the youth services also identify her: the
    demo consent shows them her plan, goals and team, but not her Patient record, by which an
    export finds her."""
    client, hetu = client_with_own_hetu(fhir)
    consent = fhir.get(f"/{client.ref('consent')}").json()
    for provision in consent["provision"]["provision"]:
        if provision["type"] == "permit" and "youth-services" in json.dumps(provision["actor"]):
            provision["class"].append({"system": "http://hl7.org/fhir/resource-types", "code": "Patient"})
    _put(fhir, consent)
    return client, hetu


def _put(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    path = f"/{resource['resourceType']}/{resource['id']}"
    assert fhir.put(path, json=resource, headers={"Content-Type": "application/fhir+json"}).status_code == 200


def _export(hetu: str) -> bytes:
    return (SAMPLES / "youth-services.json").read_text(encoding="utf-8").replace("140307A946S", hetu).encode()


def _import(settings: Settings, data: bytes, *, dry_run: bool = False) -> list[Outcome]:
    records = read_records(data)
    return run_import(
        settings, "youth-system", "PractitionerRole/demo-role-youth-worker", records, YOUTH, dry_run=dry_run
    )


def test_the_youth_services_set_their_activities_and_a_rerun_changes_nothing(
    served: Settings, fhir: httpx.Client, young: tuple[Client, str]
) -> None:
    client, hetu = young
    before = stored_plan(fhir, client)
    [outcome] = _import(served, _export(hetu))
    assert (outcome.status, outcome.plan) == ("updated", client.ref("plan")), outcome
    after = stored_plan(fhir, client)
    assert int(after["meta"]["versionId"]) == int(before["meta"]["versionId"]) + 1
    assert not_owned(after, SECTOR) == not_owned(before, SECTOR)  # the PSY activity too, untouched
    ours = {a["id"]: a for a in owned(after, SECTOR)}
    assert set(ours) == {"municipal-youth-services-nr", "municipal-youth-services-tk"}
    group = ours["municipal-youth-services-nr"]
    assert group["detail"]["code"]["coding"][0]["code"] == "youth-group"
    assert group["detail"]["performer"][0]["reference"] == "PractitionerRole/demo-role-youth-worker"
    assert group["progress"] == [{"text": "Aino ehdottaa ryhmälle retkeä keväällä"}]
    [again] = _import(served, _export(hetu))
    assert again.status == "unchanged" and stored_plan(fhir, client)["meta"]["versionId"] == after["meta"]["versionId"]


def test_without_the_clients_consent_nothing_is_written_and_the_attempt_is_recorded(
    served: Settings, fhir: httpx.Client, young: tuple[Client, str]
) -> None:
    client, hetu = young
    consent = fhir.get(f"/{client.ref('consent')}").json()
    consent["status"] = "inactive"  # withdrawn
    _put(fhir, consent)
    before, recorded = stored_plan(fhir, client), len(_events(served))
    [outcome] = _import(served, _export(hetu))
    assert (outcome.status, outcome.reason) == ("rejected", "no client found"), outcome  # as if she were not there
    assert stored_plan(fhir, client)["meta"]["versionId"] == before["meta"]["versionId"]
    new = [json.dumps(event) for event in _events(served)[recorded:]]
    assert any("youth-system" in e and "search-type" in e and "Patient" in e for e in new), new  # the attempt
    assert not any("youth-system" in e and '"update"' in e for e in new)  # and nothing more


def _events(settings: Settings) -> list[dict[str, Any]]:
    store = open_store(settings)
    try:
        return [json.loads(stored.event) for stored in store.events()]
    finally:
        store.close()


def test_the_command_reports_a_messy_export_field_by_field(served: Settings) -> None:
    key = served.gateway_dir / "youth-system.jwk"
    command = ["import", "youth-services", "--json", "--gateway", f"{served.gateway_origin}/fhir", "--key", str(key)]
    result = CliRunner().invoke(app, [*command, str(SAMPLES / "youth-services-messy.json")])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)["records"]
    assert [(r["lines"], r["status"], r["column"]) for r in report] == [
        ([1], "rejected", "asiakkaat[1].toimenpiteet[1].koodi"),
        ([2], "rejected", "asiakkaat[2].asiakas.henkilötunnus"),
        ([3], "rejected", "asiakkaat[3].asiakas.henkilötunnus"),
        ([4], "rejected", "asiakkaat[4].asiakas.henkilötunnus"),
        ([5], "rejected", "asiakkaat[5]"),
    ]
    broken = CliRunner().invoke(app, [*command, str(SAMPLES / "school-welfare.csv")])  # not JSON
    assert broken.exit_code == 2


def test_an_export_shows_the_plan_as_the_youth_services_see_it_and_imports_back_unchanged(
    served: Settings, fhir: httpx.Client, young: tuple[Client, str]
) -> None:
    client, hetu = young
    assert _import(served, _export(hetu))[0].status == "updated"
    key = served.gateway_dir / "youth-system.jwk"
    done = CliRunner().invoke(
        app, ["export", "youth-services", hetu, "--gateway", f"{served.gateway_origin}/fhir", "--key", str(key)]
    )
    assert done.exit_code == 0, done.output
    exported = json.loads(done.stdout)
    [person] = exported["asiakkaat"]
    assert person["nuorisotyöntekijä"] == "Tuomas Väisänen"
    assert sorted(m["koodi"] for m in person["toimenpiteet"]) == ["NR", "TK"]
    assert {m["sektori"] for m in person["muiden_sektorien_toimenpiteet"]} == {"school-welfare", "child-protection"}
    assert "psych" not in done.stdout.lower()  # the consent refuses PSY to the youth worker
    [again] = _import(served, done.stdout.encode())
    assert again.status == "unchanged"
