"""`yhteys audit verify` and `yhteys audit export` on a real trail in a temporary data dir."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.access.seam import Effect
from gateway.audit import AuditOutcome, AuditRecord, Caller
from gateway.audit.balp import events_of
from gateway.audit.setup import checkpoint_key, open_store
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
