"""The tamper-evident trail: chain, checkpoints, tamper detection, export, group commit, failure.

Each test builds a real SQLite store in a temporary folder and appends BALP events made from
real `AuditRecord`s; tampering is done the way an attacker with database access would: with
SQL, after dropping the append-only triggers.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.access.seam import Effect
from gateway.audit import AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.balp import events_of
from gateway.audit.chain import CheckpointKey, canonical, library_canonical
from gateway.audit.store import INDEX_COLUMNS, AuditQuery, AuditStore, Batch, StoredEvent, StoreError
from gateway.audit.trail import AuditTrail
from gateway.audit.verify import Verdict, export_lines, verify, verify_export
from gateway.audit.witness import Witness, read_witness
from gateway.errors import AuditUnavailable

SERVER = "http://gateway.test/fhir"
CALLER = Caller("youth-system", "Organization/demo-org-youth-services", "municipal-youth-services",
                "PractitionerRole/demo-role-youth-worker", "TREAT", "jti-1")  # fmt: skip


def _record(n: int, patient: str = "Patient/demo-client") -> AuditRecord:
    return AuditRecord(
        request_id=f"req-{n}", recorded_at=datetime(2026, 11, 22, 12, 0, n % 60, tzinfo=UTC), caller=CALLER,
        method="GET", path="/fhir/CarePlan/demo-plan", query="", interaction="read", resource_type="CarePlan",
        patients=(patient,), effect=Effect.PERMIT, reasons=(), status=200, outcome=AuditOutcome.SUCCESS,
        resource_id="demo-plan", disclosed=(Disclosed("CarePlan/demo-plan/_history/1", patient),),
    )  # fmt: skip


@pytest.fixture
def key(tmp_path: Path) -> CheckpointKey:
    return CheckpointKey.load(tmp_path / "key.pem")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite"


def _fill(path: Path, key: CheckpointKey, count: int = 20, every: int = 5) -> AuditStore:
    store = AuditStore.sqlite(path)
    for n in range(count):
        store.append(events_of(_record(n), server=SERVER))
        seq, hash_ = store.head()
        if seq % every == 0:
            store.add_checkpoint(key.sign(seq, hash_, f"2026-11-22T12:00:{n:02d}+00:00"))
    return store


def _check(path: Path, key: CheckpointKey) -> Verdict:
    store = AuditStore.sqlite(path)
    try:
        return verify(store.events(), store.checkpoints(), key.public_key)
    finally:
        store.close()


def _tamper(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    for name in (
        "audit_event_no_update",
        "audit_event_no_delete",
        "audit_checkpoint_no_update",
        "audit_checkpoint_no_delete",
    ):
        connection.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


def test_an_untouched_trail_verifies(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    verdict = _check(path, key)
    assert verdict.ok and verdict.records == 20 and verdict.checkpoints == 4


def test_the_store_refuses_update_and_delete(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    connection = sqlite3.connect(path)
    for statement in ("UPDATE audit_event SET outcome = '0' WHERE seq = 3", "DELETE FROM audit_event WHERE seq = 3",
                      "DELETE FROM audit_checkpoint"):  # fmt: skip
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute(statement)
    connection.close()
    assert _check(path, key).ok


def _event_at(path: Path, seq: int) -> str:
    connection = sqlite3.connect(path)
    (event,) = connection.execute("SELECT event FROM audit_event WHERE seq = ?", (seq,)).fetchone()
    connection.close()
    return str(event)


def test_an_altered_record_is_found_at_its_position(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    altered = _event_at(path, 7).replace('"outcome":"0"', '"outcome":"4"')
    assert altered != _event_at(path, 7)
    _tamper(path, f"UPDATE audit_event SET event = '{altered}' WHERE seq = 7")
    verdict = _check(path, key)
    assert verdict.first_broken == 7 and "hash" in (verdict.problem or "")


@pytest.mark.parametrize("column", INDEX_COLUMNS)
@pytest.mark.parametrize("value", [None, "forged"])
def test_an_index_column_nulled_or_altered_in_a_copy_is_named(
    path: Path, key: CheckpointKey, tmp_path: Path, column: str, value: str | None
) -> None:
    _fill(path, key).close()
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(path.read_bytes())
    if column == "date" and value is None:  # NOT NULL in the schema: emptied instead
        value = ""
    _tamper(copy, f"UPDATE audit_event SET {column} = {'NULL' if value is None else repr(value)} WHERE seq = 6")
    connection = sqlite3.connect(copy)
    (stored,) = connection.execute(f"SELECT {column} FROM audit_event WHERE seq = 6").fetchone()
    connection.close()
    assert stored == value
    verdict = _check(copy, key)
    assert verdict.first_broken == 6 and f"column {column} " in (verdict.problem or ""), verdict
    assert _check(path, key).ok


def test_a_deleted_record_is_found(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    _tamper(path, "DELETE FROM audit_event WHERE seq = 9")
    assert _check(path, key).first_broken == 9


def test_reordered_records_are_found(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    _tamper(
        path,
        "UPDATE audit_event SET seq = -1 WHERE seq = 11",
        "UPDATE audit_event SET seq = 11 WHERE seq = 12",
        "UPDATE audit_event SET seq = 12 WHERE seq = -1",
    )
    assert _check(path, key).first_broken == 11


def test_an_inserted_record_is_found(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    forged = _event_at(path, 4).replace('"id":"4"', '"id":"5"')
    _tamper(
        path,
        "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1005",
        f"INSERT INTO audit_event (seq, date, event, prev_hash, hash) SELECT 5, date, '{forged}', hash, hash FROM audit_event WHERE seq = 4",
    )
    assert _check(path, key).first_broken == 5


def test_a_rewritten_and_rehashed_chain_fails_at_the_signed_checkpoint(path: Path, key: CheckpointKey) -> None:
    _fill(path, key).close()
    store = AuditStore.sqlite(tmp := path.with_name("forged.sqlite"))
    for n in range(20):  # the same requests, one changed, every hash recomputed
        store.append(events_of(_record(n, "Patient/someone-else" if n == 12 else "Patient/demo-client"), server=SERVER))
    store.close()
    forged = sqlite3.connect(tmp).execute("SELECT * FROM audit_event").fetchall()  # index columns too
    _tamper(path, "DELETE FROM audit_event")
    connection = sqlite3.connect(path)
    connection.executemany(f"INSERT INTO audit_event VALUES ({', '.join('?' * len(forged[0]))})", forged)
    connection.commit()
    connection.close()
    verdict = _check(path, key)
    assert verdict.first_broken == 15 and "checkpoint" in (verdict.problem or "")


def test_cutting_off_the_end_or_forging_a_checkpoint_is_found(path: Path, key: CheckpointKey, tmp_path: Path) -> None:
    _fill(path, key).close()
    _tamper(path, "DELETE FROM audit_event WHERE seq > 17")
    assert _check(path, key).first_broken == 18
    second = tmp_path / "second.sqlite"
    store = _fill(second, key, count=19)
    store.add_checkpoint(CheckpointKey.load(tmp_path / "other.pem").sign(*store.head(), "2026-11-22T13:00:00+00:00"))
    store.close()
    verdict = _check(second, key)
    assert verdict.first_broken == 19 and "signature" in (verdict.problem or "")


def test_an_export_verifies_alone_and_tampering_with_it_is_found(path: Path, key: CheckpointKey) -> None:
    store = _fill(path, key)
    lines = list(export_lines(store, key, 6, 15))
    store.close()
    header = json.loads(lines[0])
    assert header["anchor"]["seq"] == 5 and header["publicKey"]["kid"] == key.key_id
    assert verify_export(lines).ok and verify_export(lines).records == 10
    event = json.loads(lines[3])
    event["event"] = event["event"].replace('"outcome":"0"', '"outcome":"4"')
    assert verify_export([*lines[:3], json.dumps(event), *lines[4:]]).first_broken == 8
    assert not verify_export([lines[0], *lines[2:]]).ok  # a record left out
    with pytest.raises(ValueError, match="checkpoint"):
        list(export_lines(AuditStore.sqlite(path), key, 6, 14))


def test_search_finds_events_by_patient_and_outcome(path: Path, key: CheckpointKey) -> None:
    store = _fill(path, key, count=6)
    store.append(events_of(_record(99, "Patient/other"), server=SERVER))
    found = store.search(AuditQuery(patient="Patient/other"))
    assert len(found) == 1 and json.loads(found[0].event)["id"] == str(found[0].seq)
    assert len(store.search(AuditQuery(patient="Patient/demo-client", outcome="0"))) == 6
    assert store.search(AuditQuery(outcome="4")) == []
    store.close()


def test_search_pages_by_seq_newest_first_and_counts(path: Path, key: CheckpointKey) -> None:
    store = _fill(path, key, count=6)  # one REST event per record: seq 1..6

    def seqs(query: AuditQuery) -> list[int]:
        return [event.seq for event in store.search(query)]

    assert seqs(AuditQuery(limit=4)) == [6, 5, 4, 3]
    assert seqs(AuditQuery(before=3, limit=4)) == [2, 1]  # the page after seq 3
    assert seqs(AuditQuery(after=2, limit=2)) == [4, 3]  # the page before seq 2: the oldest above it
    assert seqs(AuditQuery(after=1, before=6, limit=9)) == [5, 4, 3, 2]
    assert store.count(AuditQuery()) == 6 and store.count(AuditQuery(before=3)) == 2
    assert store.count(AuditQuery(after=4, limit=1, offset=5)) == 2  # limit and offset count nothing
    assert store.count(AuditQuery(outcome="4")) == 0
    store.close()


def test_group_commit_stores_every_record_in_few_transactions(path: Path, key: CheckpointKey) -> None:
    store = AuditStore.sqlite(path)
    batches: list[int] = []
    commit = store.commit

    def counting(batch: Batch) -> list[StoredEvent]:
        batches.append(len(batch.rows))
        return commit(batch)

    store.commit = counting  # type: ignore[method-assign]
    trail = AuditTrail(store, key, server=SERVER, checkpoint_every=50)

    async def run() -> None:
        await asyncio.gather(*(trail.record(_record(n)) for n in range(200)))
        await trail.close()

    asyncio.run(run())
    assert sum(batches) == 200 and len(batches) < 20  # many requests per transaction
    assert _check(path, key).ok
    assert AuditStore.sqlite(path).checkpoints()[-1].seq == 200  # closing signs the head


def test_a_store_that_cannot_be_written_makes_the_request_fail_closed(path: Path, key: CheckpointKey) -> None:
    store = AuditStore.sqlite(path, busy_timeout=0.2)
    trail = AuditTrail(store, key, server=SERVER)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")

    async def run() -> None:
        with pytest.raises(AuditUnavailable):
            await trail.record(_record(1))

    asyncio.run(run())
    blocker.execute("ROLLBACK")
    blocker.close()
    asyncio.run(trail.record(_record(2)))  # the store is back: records go in again
    assert store.head()[0] >= 1
    (path.parent / "a-file").write_text("")
    with pytest.raises(StoreError):
        AuditStore.sqlite(path.parent / "a-file" / "audit.sqlite")


def test_a_checkpoint_that_cannot_be_witnessed_stops_the_trail_until_one_can(path: Path, key: CheckpointKey) -> None:
    blocker = path.parent / "witness-folder"
    blocker.write_text("")  # a file where the witness's folder should be: it cannot be written
    witness = Witness(blocker / "witness.jsonl")
    store = AuditStore.sqlite(path, witness=witness)
    trail = AuditTrail(store, key, server=SERVER, checkpoint_every=1, checkpoint_interval=3600.0)

    async def run() -> None:
        await trail.record(_record(1))  # committed; its checkpoint fails
        with pytest.raises(AuditUnavailable):
            await trail.record(_record(2))  # the tail is not proven: not written
        assert store.head()[0] == 1
        blocker.unlink()  # the witness can be written again
        await trail.record(_record(3))
        assert len(list(store.events())) == 2  # records 1 and 3
        await trail.close()

    asyncio.run(run())
    witnessed = read_witness(witness.path)
    assert [c.seq for c in witnessed] == [1, 2]  # the first success covered record 1, then record 3


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, True, None, "ä\u2028\n\t\"\\\x01"], "a": {"z": -(2**53 - 1), "y": "𝄞"}},
        {"float": 1.5}, {"big": 2**60}, {"ключ": "non-ASCII key"}, {"\U0001d11e": 1, "\ue000": 2},
    ],
    ids=["plain", "float", "big-int", "non-ascii-key", "astral-keys"],
)  # fmt: skip
def test_canonical_json_is_rfc8785_whichever_path_it_takes(value: object) -> None:
    try:
        expected = library_canonical(value)
    except ValueError as refused:  # integers beyond 2**53: refused on both paths
        with pytest.raises(type(refused)):
            canonical(value)
        return
    assert canonical(value) == expected


def test_every_stored_event_is_the_librarys_canonical_form(path: Path, key: CheckpointKey) -> None:
    store = _fill(path, key, count=5)
    for stored in store.events():
        assert library_canonical(json.loads(stored.event)) == stored.event.encode()
    store.close()


def test_a_batch_a_checkpoint_interval_after_the_last_checkpoint_is_signed_at_once(
    path: Path, key: CheckpointKey
) -> None:
    clock = [100.0]
    store = AuditStore.sqlite(path)
    trail = AuditTrail(store, key, server=SERVER, checkpoint_every=1000, checkpoint_interval=1.0,
                       clock=lambda: clock[0])  # fmt: skip
    signed: list[int | None] = []

    async def run() -> None:
        for at in (100.4, 100.9, 101.0, 101.5, 102.1):
            clock[0] = at
            await trail.record(_record(int(at * 10)))
            last = store.last_checkpoint()
            signed.append(last.seq if last else None)
        await trail.close()

    asyncio.run(run())
    assert signed == [None, None, 3, 3, 5]  # 1.0 s after the start, then 1.0 s after that checkpoint


def test_unsigned_records_are_signed_an_interval_later_with_no_batch_following(path: Path, key: CheckpointKey) -> None:
    store = AuditStore.sqlite(path)
    trail = AuditTrail(store, key, server=SERVER, checkpoint_every=1000, checkpoint_interval=0.05)
    covered: list[int | None] = []

    async def run() -> None:
        await trail.record(_record(1))
        await trail.record(_record(2))
        for _ in range(200):  # wait on the condition, at most 10 s
            last = store.last_checkpoint()
            if last is not None and last.seq == 2:
                break
            await asyncio.sleep(0.05)
        last = store.last_checkpoint()
        covered.append(last.seq if last else None)
        await trail.close()

    asyncio.run(run())
    assert covered == [2]


def test_checkpoint_every_records_signs_without_waiting_for_the_interval(path: Path, key: CheckpointKey) -> None:
    store = AuditStore.sqlite(path)
    trail = AuditTrail(store, key, server=SERVER, checkpoint_every=3, checkpoint_interval=3600.0)
    signed: list[int | None] = []

    async def run() -> None:
        for n in range(4):
            await trail.record(_record(n))
            last = store.last_checkpoint()
            signed.append(last.seq if last else None)
        await trail.close()

    asyncio.run(run())
    assert signed == [None, None, 3, 3]
    assert [c.seq for c in AuditStore.sqlite(path).checkpoints()] == [3, 4]  # and closing signs the head
