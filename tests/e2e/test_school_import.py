"""The school welfare export into the shared plan through the served gateway (issue 10).

Each test imports into a fresh copy of the demo client given a henkilötunnus of its own, as the
school system (its own registration and token, acting as the demo curator Laura Heikkinen).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.settings import Settings
from mappings.plan import Outcome
from mappings.school import read_records, school_sector
from tests.e2e.gateway_harness import Client
from tests.e2e.imports_harness import client_with_own_hetu, not_owned, owned, run_import, stored_plan

HEADER = (
    "Oppilaan henkilötunnus;Tukitoimen koodi;Sovittu tukitoimi;Kuraattori tai psykologi;Koulu;Tapaamiset;"
    "Odotusaika ensimmäiseen tapaamiseen (arkipäivää)"
)
SCHOOL = school_sector("Organization/demo-org-school-welfare")
SAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "samples"


@pytest.fixture
def student(fhir: httpx.Client) -> tuple[Client, str]:
    return client_with_own_hetu(fhir)


def _export(*rows: str, encoding: str = "utf-8") -> bytes:
    return "\n".join((HEADER, *rows)).encode(encoding) + b"\n"


def _import(settings: Settings, data: bytes, *, dry_run: bool = False) -> list[Outcome]:
    records = read_records(data)
    return run_import(
        settings, "school-welfare-system", "PractitionerRole/demo-role-curator", records, SCHOOL, dry_run=dry_run
    )


def _plan(fhir: httpx.Client, client: Client) -> dict[str, Any]:
    return stored_plan(fhir, client)


def _school(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return owned(plan, "school-welfare")


def _others(plan: dict[str, Any]) -> list[str]:
    return not_owned(plan, "school-welfare")


def test_an_export_sets_the_schools_activities_and_a_rerun_changes_nothing(
    served: Settings, fhir: httpx.Client, student: tuple[Client, str]
) -> None:
    client, hetu = student
    before = _plan(fhir, client)
    data = _export(
        f"{hetu};KT;Kuraattoritapaamiset kerran viikossa;Laura Heikkinen;Ylöjärven lukio;tiistaisin klo 10;5",
        f"{hetu};HOKS;Opiskelusuunnitelma päivitetään;Laura Heikkinen;Ylöjärven lukio;;9",
        f"{hetu};KT;Kuraattoritapaamiset kerran viikossa;Laura Heikkinen;Ylöjärven lukio;tiistaisin klo 10;5",
    )
    [outcome] = _import(served, data)
    assert (outcome.status, outcome.plan, outcome.lines) == ("updated", client.ref("plan"), (2, 3, 4)), outcome
    assert outcome.notes == ("HOKS: 9 working days to the first appointment, more than 7",)
    after = _plan(fhir, client)
    assert int(after["meta"]["versionId"]) == int(before["meta"]["versionId"]) + 1
    assert _others(after) == _others(before)  # the other sectors' activities, the PSY one too, as they were
    school = {a["id"]: a for a in _school(after)}
    assert set(school) == {"school-welfare-kt", "school-welfare-hoks"}
    kt = school["school-welfare-kt"]
    assert kt["detail"]["code"]["coding"][0]["code"] == "curator-meetings"
    assert kt["detail"]["performer"][0]["reference"] == "PractitionerRole/demo-role-curator"
    assert (
        kt["detail"]["scheduledString"] == "tiistaisin klo 10"
        and kt["detail"]["location"]["display"] == "Ylöjärven lukio"
    )
    [again] = _import(served, data)
    assert again.status == "unchanged"
    assert _plan(fhir, client)["meta"]["versionId"] == after["meta"]["versionId"]  # no new version
    [latin] = _import(served, data.decode().encode("latin-1"))  # the same export in Latin-1
    assert latin.status == "unchanged"


def test_a_dry_run_writes_nothing(served: Settings, fhir: httpx.Client, student: tuple[Client, str]) -> None:
    client, hetu = student
    before = _plan(fhir, client)
    [outcome] = _import(served, _export(f"{hetu};KT;Tapaamiset;Laura Heikkinen;;;"), dry_run=True)
    assert (outcome.status, outcome.dry_run) == ("updated", True)
    assert _plan(fhir, client)["meta"]["versionId"] == before["meta"]["versionId"]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("{wrong};KT;Tapaamiset;Laura Heikkinen;;;", "Oppilaan henkilötunnus", "check character"),
        ("{hetu};XYZ;Tapaamiset;Laura Heikkinen;;;", "Tukitoimen koodi", "not known"),
        ("{hetu};KT;Tapaamiset;Kalle Tuntematon;;;", "Kuraattori tai psykologi", "no school-curator"),
        ("{hetu};KT;Tapaamiset;Laura Heikkinen;;;viisi", "Odotusaika ensimmäiseen tapaamiseen (arkipäivää)", "whole"),
        ("{hetu};KT;Tapaamiset", "", "fields"),
    ],
)
def test_a_bad_record_is_rejected_whole_and_nothing_is_written(
    served: Settings, fhir: httpx.Client, student: tuple[Client, str], row: str, column: str, reason: str
) -> None:
    client, hetu = student
    wrong = hetu[:-1] + ("A" if hetu[-1] != "A" else "B")
    before = _plan(fhir, client)
    good = f"{hetu};HOKS;Opiskelusuunnitelma;Laura Heikkinen;;;"
    outcomes = _import(served, _export(good, row.format(hetu=hetu, wrong=wrong)))
    rejected = [o for o in outcomes if o.status == "rejected"]
    assert len(rejected) == 1 and rejected[0].column == column and reason in rejected[0].reason, outcomes
    if "{hetu}" in row:  # the student's good row went with the bad one
        assert [o.status for o in outcomes] == ["rejected"]
        assert _plan(fhir, client)["meta"]["versionId"] == before["meta"]["versionId"]


def test_the_command_imports_a_sample_reports_it_and_exits_by_what_was_rejected(
    served: Settings, fhir: httpx.Client, student: tuple[Client, str], tmp_path: Path
) -> None:
    client, hetu = student
    export = tmp_path / "export.csv"
    export.write_text((SAMPLES / "school-welfare.csv").read_text(encoding="utf-8").replace("140307A946S", hetu))
    key = served.gateway_dir / "school-welfare-system.jwk"
    command = ["import", "school-welfare", "--gateway", f"{served.gateway_origin}/fhir", "--key", str(key)]
    before = _plan(fhir, client)["meta"]["versionId"]
    dry = CliRunner().invoke(app, [*command, "--dry-run", "--json", str(export)])
    assert dry.exit_code == 0, dry.output
    [record] = json.loads(dry.stdout)["records"]
    assert (record["status"], record["dry_run"], record["lines"]) == ("updated", True, [2, 3])
    assert _plan(fhir, client)["meta"]["versionId"] == before
    done = CliRunner().invoke(app, [*command, str(export)])
    assert done.exit_code == 0 and done.stdout.strip() == f"lines 2,3: updated {client.ref('plan')}", done.output
    again = CliRunner().invoke(app, [*command, str(export)])
    assert again.stdout.strip() == f"lines 2,3: unchanged {client.ref('plan')}"
    messy = CliRunner().invoke(app, [*command, "--json", str(SAMPLES / "school-welfare-messy-latin1.csv")])
    assert messy.exit_code == 1, messy.output
    rejected = json.loads(messy.stdout)["records"]
    assert [(r["lines"], r["status"], r["column"]) for r in rejected] == [
        ([2, 3, 5], "rejected", "Tukitoimen koodi"),
        ([4], "rejected", "Oppilaan henkilötunnus"),
        ([6], "rejected", ""),
    ]
    unreadable = CliRunner().invoke(app, [*command, str(tmp_path / "missing.csv")])
    assert unreadable.exit_code == 2


def test_an_export_shows_the_plan_as_the_school_sees_it_and_imports_back_unchanged(
    served: Settings, fhir: httpx.Client, student: tuple[Client, str], tmp_path: Path
) -> None:
    client, hetu = student
    [first] = _import(
        served, (SAMPLES / "school-welfare.csv").read_text(encoding="utf-8").replace("140307A946S", hetu).encode()
    )
    assert first.status == "updated"
    key = served.gateway_dir / "school-welfare-system.jwk"
    out = tmp_path / "out.csv"
    done = CliRunner().invoke(
        app,
        [
            "export",
            "school-welfare",
            hetu,
            "--out",
            str(out),
            "--gateway",
            f"{served.gateway_origin}/fhir",
            "--key",
            str(key),
        ],
    )
    assert done.exit_code == 0, done.output
    text = out.read_bytes().decode("utf-8-sig")
    rows = [line.split(";") for line in text.splitlines()[1:]]
    assert sorted(row[1] for row in rows if row[-1] == "school-welfare") == ["HOKS", "KT"]  # the local codes again
    assert {row[-1] for row in rows} == {
        "school-welfare",
        "child-protection",
        "municipal-youth-services",
    }  # no psychiatry
    assert "psych" not in text.lower()
    [again] = _import(served, out.read_bytes())
    assert again.status == "unchanged"  # the round trip kept every mapped field
    missing = CliRunner().invoke(
        app,
        ["export", "school-welfare", "010106A941B", "--gateway", f"{served.gateway_origin}/fhir", "--key", str(key)],
    )
    assert missing.exit_code == 1
