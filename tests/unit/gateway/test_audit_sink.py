"""The first audit sink: one fsynced JSON line per request, or a refusal."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gateway.access import Effect, Reason
from gateway.audit import Anonymous, AuditOutcome, AuditRecord, Caller, JsonLinesSink
from gateway.errors import AuditUnavailable

REASON = Reason("no-rule-permits", "https://yhteys.fi/fhir/policy/rule/no-rule-permits", "fi", "sv", "en")


def _record(caller: Caller | Anonymous, request_id: str = "req-1") -> AuditRecord:
    return AuditRecord(
        request_id=request_id,
        recorded_at=datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc),
        caller=caller,
        method="GET",
        path="/fhir/CarePlan/demo-plan",
        query="_elements=status",
        interaction="read",
        resource_type="CarePlan",
        patients=("Patient/demo-client",),
        effect=Effect.DENY,
        reasons=(REASON,),
        status=403,
        outcome=AuditOutcome.DENIED,
    )


CALLER = Caller(
    client_id="youth-services",
    organization="Organization/demo-org-youth-services",
    sector="municipal-youth-services",
    practitioner_role="PractitionerRole/demo-role-youth-worker",
    purpose_of_use="TREAT",
    token_jti="jti-1",
)


def test_records_append_as_json_lines(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "audit" / "trail.jsonl")

    async def run() -> None:
        await sink.record(_record(CALLER, "req-1"))
        await sink.record(_record(Anonymous("expired token"), "req-2"))

    asyncio.run(run())
    lines = [json.loads(line) for line in sink.path.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-1", "req-2"]
    assert lines[0]["caller"]["token_jti"] == "jti-1"
    assert lines[0]["reasons"] == [{"code": REASON.code, "rule": REASON.rule}]
    assert lines[1]["caller"] == {"kind": "anonymous", "reason": "expired token"}
    assert lines[0]["recorded_at"] == "2026-11-22T12:00:00+00:00"


def test_unwritable_trail_refuses(tmp_path: Path) -> None:
    blocked = tmp_path / "trail.jsonl"
    blocked.mkdir()  # a directory where the file should be
    with pytest.raises(AuditUnavailable):
        asyncio.run(JsonLinesSink(blocked).record(_record(CALLER)))
