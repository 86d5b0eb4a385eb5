"""`yhteys audit verify` and `yhteys audit export` on a real trail in a temporary data dir."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gateway.access.seam import Effect
from gateway.audit import AuditOutcome, AuditRecord, Caller
from gateway.audit.balp import events_of
from gateway.audit.setup import checkpoint_key, open_store
from gateway.audit.trail import AuditTrail
from gateway.audit.witness import read_witness
from gateway.cli.main import app
from gateway.settings import Settings

CALLER = Caller("youth-system", "Organization/demo-org-youth-services", "municipal-youth-services",
                "PractitionerRole/demo-role-youth-worker", "TREAT", "jti-1")  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A data dir whose trail holds 12 records, checkpointed at 10."""
    monkeypatch.setenv("YHTEYS_DATA_DIR", str(tmp_path))
    settings = Settings.from_env()
    store, key = open_store(settings), checkpoint_key(settings)
    for n in range(12):
        record = AuditRecord(
            f"req-{n}", datetime(2026, 11, 22, 12, 0, n, tzinfo=UTC), CALLER, "GET", "/fhir/CarePlan/demo-plan", "",
            "read", "CarePlan", ("Patient/demo-client",), Effect.PERMIT, (), 200, AuditOutcome.SUCCESS,
        )  # fmt: skip
        store.append(events_of(record, server="http://gateway.test/fhir"))
        if n == 9:
            store.add_checkpoint(key.sign(*store.head(), "2026-11-22T12:00:10+00:00"))
    store.close()
    return settings


def test_verify_passes_an_intact_trail(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 12 records, 1 signed checkpoints" in result.output


def test_verify_names_the_first_altered_record(settings: Settings) -> None:
    connection = sqlite3.connect(settings.gateway_dir / "audit.sqlite")
    connection.execute("DROP TRIGGER audit_event_no_update")
    connection.execute("UPDATE audit_event SET event = replace(event, 'req-4', 'req-X') WHERE seq = 5")
    connection.commit()
    connection.close()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at record 5" in result.output


def test_an_export_is_signed_at_its_end_and_verifies_alone(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    exported = CliRunner().invoke(app, ["audit", "export", "--out", str(out), "--from", "3", "--to", "12"])
    assert exported.exit_code == 0, exported.output
    assert len(out.read_text().splitlines()) == 1 + 10 + 2  # header, records 3..12, checkpoints 10 and 12
    assert CliRunner().invoke(app, ["audit", "verify", "--export", str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:4] + lines[5:]) + "\n")  # record 6 left out
    broken = CliRunner().invoke(app, ["audit", "verify", "--export", str(out)])
    assert broken.exit_code == 1 and "BROKEN at record 6" in broken.output
    refused = CliRunner().invoke(app, ["audit", "export", "--out", str(out), "--from", "5", "--to", "99"])
    assert refused.exit_code == 1 and "1..12" in refused.output


def _said(result: Result) -> str:
    """The command's output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def _cut(settings: Settings, first: int) -> None:
    """As an attacker with the database would: drop the guards, delete records and checkpoints from `first` on."""
    connection = sqlite3.connect(settings.gateway_dir / "audit.sqlite")
    for name in ("audit_event_no_delete", "audit_checkpoint_no_delete"):
        connection.execute(f"DROP TRIGGER {name}")
    connection.execute("DELETE FROM audit_event WHERE seq >= ?", (first,))
    connection.execute("DELETE FROM audit_checkpoint WHERE seq >= ?", (first,))
    connection.commit()
    connection.close()


def test_every_checkpoint_is_witnessed_and_a_cut_tail_is_named(settings: Settings) -> None:
    witness = settings.audit_witness
    assert witness == settings.gateway_dir / "audit-witness.jsonl"
    assert [c.seq for c in read_witness(witness)] == [10]
    intact = CliRunner().invoke(app, ["audit", "verify", "--witness", str(witness)])
    assert intact.exit_code == 0, intact.output
    assert "holds all 1 witnessed checkpoints" in _said(intact)
    _cut(settings, 10)
    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0  # the trail alone looks whole
    cut = CliRunner().invoke(app, ["audit", "verify", "--witness", str(witness)])
    assert cut.exit_code == 1
    assert "BROKEN at record 10" in _said(cut) and "tail was cut" in _said(cut) and "from 10" in _said(cut)


def test_records_the_gateway_wrote_are_witnessed_within_the_interval_and_their_cut_is_found(
    settings: Settings,
) -> None:
    store = open_store(settings)
    trail = AuditTrail(
        store, checkpoint_key(settings), server="http://gateway.test/fhir", checkpoint_interval=0.5
    )  # longer than three records take, even on a loaded box

    async def run() -> None:
        for n in range(3):  # records 13..15, then no more: the timer signs them
            await trail.record(
                AuditRecord(
                    f"late-{n}",
                    datetime(2026, 11, 22, 12, 1, n, tzinfo=UTC),
                    CALLER,
                    "GET",
                    "/fhir/CarePlan/demo-plan",
                    "",
                    "read",
                    "CarePlan",
                    ("Patient/demo-client",),
                    Effect.PERMIT,
                    (),
                    200,
                    AuditOutcome.SUCCESS,
                )  # fmt: skip
            )
        for _ in range(200):  # wait on the condition, at most 10 s
            if read_witness(settings.audit_witness)[-1].seq == 15:
                break
            await asyncio.sleep(0.05)
        store.close()  # the gateway dies: no closing checkpoint

    asyncio.run(run())
    assert [c.seq for c in read_witness(settings.audit_witness)] == [10, 15]
    assert CliRunner().invoke(app, ["audit", "verify", "--witness", str(settings.audit_witness)]).exit_code == 0
    _cut(settings, 14)
    cut = CliRunner().invoke(app, ["audit", "verify", "--witness", str(settings.audit_witness)])
    assert cut.exit_code == 1 and "BROKEN at record 14" in _said(cut) and "ends at record 13" in _said(cut)


def test_a_forged_or_unheld_witnessed_checkpoint_fails(settings: Settings, tmp_path: Path) -> None:
    (line,) = settings.audit_witness.read_text().splitlines()
    row = json.loads(line)
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps({**row, "seq": 11}) + "\n")  # signature over seq 10 only
    result = CliRunner().invoke(app, ["audit", "verify", "--witness", str(forged)])
    assert result.exit_code == 1 and "BROKEN at record 11" in _said(result) and "bad signature" in _said(result)
    connection = sqlite3.connect(settings.gateway_dir / "audit.sqlite")
    connection.execute("DROP TRIGGER audit_checkpoint_no_delete")
    connection.execute("DELETE FROM audit_checkpoint")
    connection.commit()
    connection.close()
    unheld = CliRunner().invoke(app, ["audit", "verify", "--witness", str(settings.audit_witness)])
    assert unheld.exit_code == 1 and "does not hold the checkpoint witnessed at record 10" in _said(unheld)
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_text("{}\n")
    refused = CliRunner().invoke(app, ["audit", "verify", "--witness", str(malformed)])
    assert refused.exit_code == 1 and "malformed.jsonl:1" in _said(refused)
