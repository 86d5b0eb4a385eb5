"""The audit store: append-only tables of chained events and signed checkpoints.

One schema on two databases: embedded SQLite by default (`AuditStore.sqlite(path)`, WAL,
synchronous=FULL: a commit is on disk when it returns) and PostgreSQL by configuration
(`AuditStore.postgresql(url)`). Triggers refuse every UPDATE and DELETE (and, on PostgreSQL,
TRUNCATE) of both tables, so no interface of ours, nor a careless SQL client, can change the
trail; someone who drops the triggers is caught by the hash chain (`gateway.audit.verify`).

`append(events)` stores a batch in one transaction: each event gets the next `seq` (gapless
from 1), its id, and its chain hash (`gateway.audit.chain.link`); it returns the stored rows
only after the commit. It is `prepare` (the CPU work: canonical JSON, hashes, index values)
then `commit` (one INSERT and the COMMIT), which a caller may run on different threads. One process appends at a time (the gateway); `append` and
`add_checkpoint` are serialised by a lock. A store opened with a `Witness` appends every
checkpoint it stores to it, after the database has it (`gateway.audit.witness`). Searching (`search`, a page at a time; `count`) reads
the columns BALP events are indexed by (`gateway.audit.balp.search_keys`). Methods are blocking: run them off the
event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.audit.balp import search_keys
from gateway.audit.chain import GENESIS, Checkpoint, canonical, link
from gateway.audit.witness import Witness

__all__ = ["INDEX_COLUMNS", "AuditQuery", "AuditStore", "Batch", "StoredEvent", "StoreError", "index_values"]

INDEX_COLUMNS = (
    "date",
    "patient",
    "agent",
    "organization",
    "sector",
    "client_id",
    "entity",
    "type",
    "subtype",
    "outcome",
    "purpose",
)
"""The columns a row is searched by, each derived from its hashed event by `index_values`."""


def index_values(event: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The values of `INDEX_COLUMNS` for `event` (as stored, with its id), in that order.

    The one derivation: `AuditStore.prepare` stores these, and `gateway.audit.verify` recomputes
    them from each hashed record, so a stored column that differs from its event is caught.
    """
    keys = search_keys(event)
    return tuple(keys.get(c) or ("" if c == "date" else None) for c in INDEX_COLUMNS)


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS audit_event (
        seq BIGINT PRIMARY KEY,
        date TEXT NOT NULL,
        patient TEXT, agent TEXT, organization TEXT, sector TEXT, client_id TEXT, entity TEXT,
        type TEXT, subtype TEXT, outcome TEXT, purpose TEXT,
        event TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit_checkpoint (
        seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, signed_at TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_event_patient ON audit_event (patient, date)",
    "CREATE INDEX IF NOT EXISTS audit_event_date ON audit_event (date)",
    "CREATE INDEX IF NOT EXISTS audit_event_agent ON audit_event (agent)",
]
_SQLITE_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"""
    for table in ("audit_event", "audit_checkpoint")
    for verb in ("update", "delete")
]
_POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION yhteys_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$""",
    *(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{table}_append_only') THEN
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION yhteys_audit_append_only();
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                    FOR EACH STATEMENT EXECUTE FUNCTION yhteys_audit_append_only();
            END IF;
        END $$"""
        for table in ("audit_event", "audit_checkpoint")
    ),
]


_INSERT_EVENT = f"INSERT INTO audit_event ({', '.join(('seq', *INDEX_COLUMNS, 'event', 'prev_hash', 'hash'))}) VALUES"
_ROWS_PER_STATEMENT = 500
"""15 values per row: 7,500 per statement, below SQLite's limit of 32,766 bound values."""


class StoreError(Exception):
    """The store cannot be opened, read or written (the message says why)."""


class _Connection(Protocol):
    def begin(self) -> None: ...
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class StoredEvent:
    """One stored record: its position, event (as stored, canonical JSON text) and hashes.

    `columns` are the row's stored `INDEX_COLUMNS` values when it was read with them
    (`AuditStore.events`), None when the record came without them (an export)."""

    seq: int
    event: str
    prev_hash: str
    hash: str
    columns: tuple[str | None, ...] | None = None


@dataclass(frozen=True)
class Batch:
    """Events chained and made rows (`AuditStore.prepare`): they follow head `after` and end
    at head `head`; `AuditStore.commit` writes them."""

    rows: tuple[tuple[Any, ...], ...]
    stored: tuple[StoredEvent, ...]
    after: tuple[int, str]
    head: tuple[int, str]


@dataclass(frozen=True)
class AuditQuery:
    """An auditor's search: every given field must match (dates as ISO prefixes/bounds).

    `before` and `after` bound the seq (exclusive): the keys of keyset paging. A page is the
    `limit` newest matches below `before`, or, with only `after`, the `limit` oldest above it
    (the page before a page); either way listed newest first, then `offset` skipped."""

    patient: str | None = None
    agent: str | None = None
    organization: str | None = None
    sector: str | None = None
    client_id: str | None = None
    entity: str | None = None
    type: str | None = None
    subtype: str | None = None
    outcome: str | None = None
    purpose: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    before: int | None = None
    after: int | None = None
    limit: int = 100
    offset: int = 0


class AuditStore:
    """The audit tables on one connection; build with `sqlite` or `postgresql`."""

    def __init__(
        self, connection: _Connection, placeholder: str, description: str, witness: Witness | None = None
    ) -> None:
        self._connection = connection
        self._witness = witness
        self._placeholder = placeholder
        self.description = description
        self._lock = threading.RLock()
        self._last: tuple[int, str] | None = None

    @classmethod
    def sqlite(cls, path: Path, busy_timeout: float = 5.0, witness: Witness | None = None) -> AuditStore:
        """The store in the SQLite file `path` (created with its schema if new), witnessed by `witness`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            store = cls(_SqliteConnection(connection), "?", f"SQLite {path}", witness)
            store._create(_SQLITE_GUARDS)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"the audit store {path} cannot be opened: {exc}") from exc
        return store

    @classmethod
    def postgresql(cls, url: str, witness: Witness | None = None) -> AuditStore:
        """The store in the PostgreSQL database at `url` (schema created if missing), witnessed by `witness`."""
        import psycopg

        try:
            store = cls(_PostgresConnection(psycopg.connect(url)), "%s", "PostgreSQL", witness)
            store._create(_POSTGRES_GUARDS)
        except psycopg.Error as exc:
            raise StoreError(f"the PostgreSQL audit store cannot be opened: {exc}") from exc
        return store

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    # -- writing -----------------------------------------------------------------------------

    def append(self, events: Sequence[Mapping[str, Any]]) -> list[StoredEvent]:
        """Store `events` in order, in one transaction; the rows, once committed."""
        with self._lock:
            return self.commit(self.prepare(events))

    def prepare(self, events: Sequence[Mapping[str, Any]]) -> Batch:
        """`events` chained after the current head and made rows: the CPU part of `append`."""
        with self._lock:
            after = seq, previous = self._last_link()
            rows, stored = [], []
            for event in events:
                seq += 1
                numbered = {**event, "id": str(seq)}
                body = canonical(numbered).decode()
                digest = link(previous, body.encode())
                columns = index_values(numbered)
                rows.append((seq, *columns, body, previous, digest))
                stored.append(StoredEvent(seq, body, previous, digest, columns))
                previous = digest
            return Batch(tuple(rows), tuple(stored), after, (seq, previous))

    def commit(self, batch: Batch) -> list[StoredEvent]:
        """Write a prepared batch in one transaction; `StoreError` if the head moved since."""
        with self._lock:
            if self._last_link() != batch.after:
                raise StoreError("the chain moved on since the batch was prepared")
            self._write(_INSERT_EVENT, list(batch.rows))
            self._last = batch.head
            return list(batch.stored)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a signed checkpoint, then append it to the witness; `StoreError` if either fails."""
        with self._lock:
            row = (checkpoint.seq, checkpoint.hash, checkpoint.signed_at, checkpoint.key_id, checkpoint.signature)
            self._write("INSERT INTO audit_checkpoint VALUES", [row])
        self.witness(checkpoint)

    def witness(self, checkpoint: Checkpoint) -> None:
        """Append a stored checkpoint to the witness (again, if an earlier append failed);
        `StoreError` if it cannot be written."""
        if self._witness is None:
            return
        with self._lock:
            try:
                self._witness.append(checkpoint)
            except OSError as exc:
                raise StoreError(f"the audit witness {self._witness.path} cannot be written: {exc}") from exc

    def head(self) -> tuple[int, str]:
        """The last record's seq and hash ((0, GENESIS) for an empty trail)."""
        with self._lock:
            return self._last_link()

    # -- reading -----------------------------------------------------------------------------

    def events(self, first: int = 1, last: int | None = None, batch: int = 1000) -> Iterator[StoredEvent]:
        """The records from `first` to `last` (inclusive) in seq order, as stored, with their columns."""
        at = first
        while last is None or at <= last:
            upper = at + batch - 1 if last is None else min(at + batch - 1, last)
            rows = self._read(
                f"SELECT seq, event, prev_hash, hash, {', '.join(INDEX_COLUMNS)} FROM audit_event "
                f"WHERE seq >= {self._placeholder} AND seq <= {self._placeholder} ORDER BY seq",
                (at, upper),
            )
            yield from (StoredEvent(int(r[0]), str(r[1]), str(r[2]), str(r[3]), tuple(r[4:])) for r in rows)
            if last is None and upper >= self.head()[0]:
                return
            at = upper + 1

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, in seq order."""
        rows = self._read("SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoint ORDER BY seq", ())
        return [Checkpoint(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]

    def last_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint, or None."""
        rows = self._read(
            "SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoint ORDER BY seq DESC LIMIT 1", ()
        )
        return (
            Checkpoint(int(rows[0][0]), str(rows[0][1]), str(rows[0][2]), str(rows[0][3]), str(rows[0][4]))
            if rows
            else None
        )

    def search(self, query: AuditQuery) -> list[StoredEvent]:
        """The records matching `query`, newest first (see `AuditQuery` for the page taken)."""
        where, values = self._where(query)
        sql = "SELECT seq, event, prev_hash, hash FROM audit_event" + where
        upward = query.after is not None and query.before is None
        sql += f" ORDER BY seq {'ASC' if upward else 'DESC'} LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
        rows = [StoredEvent(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in self._read(sql, values)]
        return rows[::-1] if upward else rows

    def count(self, query: AuditQuery) -> int:
        """How many records match `query` (its seq bounds included; `limit` and `offset` ignored)."""
        where, values = self._where(query)
        return int(self._read("SELECT COUNT(*) FROM audit_event" + where, values)[0][0])

    def _where(self, query: AuditQuery) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause ("" if none) of `query`'s fields, dates and seq bounds, and its values."""
        where, values = [], []
        for column in INDEX_COLUMNS[1:]:
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = {self._placeholder}")
                values.append(value)
        bounds: tuple[tuple[str, str, str | int | None], ...] = (
            ("date", ">=", query.date_from or None),
            ("date", "<=", query.date_to or None),
            ("seq", "<", query.before),
            ("seq", ">", query.after),
        )
        for column, operator, bound in bounds:
            if bound is not None:
                where.append(f"{column} {operator} {self._placeholder}")
                values.append(bound)
        return (" WHERE " + " AND ".join(where) if where else ""), tuple(values)

    # -- plumbing ----------------------------------------------------------------------------

    def _create(self, guards: list[str]) -> None:
        self._connection.begin()
        cursor = self._connection.cursor()
        try:
            for statement in (*_SCHEMA, *guards):
                cursor.execute(statement)
            self._connection.commit()
        finally:
            cursor.close()

    def _last_link(self) -> tuple[int, str]:
        if self._last is None:
            rows = self._read("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1", ())
            self._last = (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)
        return self._last

    def _marks(self, count: int) -> str:
        return ", ".join([self._placeholder] * count)

    def _write(self, insert: str, rows: list[tuple[Any, ...]]) -> None:
        """`insert` ("INSERT INTO t (...) VALUES") of `rows` as one statement, committed.

        One multi-row statement, not one per row: the database driver releases Python's GIL
        around each statement, and under load every re-acquisition can wait a whole switch
        interval, so a per-row loop made each commit pay that once per event.
        """
        if not rows:
            return
        for at in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[at : at + _ROWS_PER_STATEMENT]
            marks = ", ".join(f"({self._marks(len(row))})" for row in chunk)
            if at == 0:
                try:
                    self._connection.begin()
                    cursor = self._connection.cursor()
                except Exception as exc:
                    raise StoreError(f"the audit store cannot be written: {exc}") from exc
            try:
                cursor.execute(f"{insert} {marks}", [value for row in chunk for value in row])
            except Exception as exc:
                self._abandon(cursor)
                raise StoreError(f"the audit store refused the write: {exc}") from exc
        try:
            self._connection.commit()
        except Exception as exc:
            self._abandon(cursor)
            raise StoreError(f"the audit store refused the write: {exc}") from exc
        cursor.close()

    def _abandon(self, cursor: Any) -> None:
        """After a failed write: roll back and read the head again (the batch may or may not be in)."""
        self._last = None
        try:
            self._connection.rollback()
        except Exception:
            pass
        cursor.close()

    def _read(self, sql: str, values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                cursor = self._connection.cursor()
                try:
                    cursor.execute(sql, values)
                    rows: list[tuple[Any, ...]] = cursor.fetchall()
                finally:
                    cursor.close()
                self._connection.commit()
                return rows
            except Exception as exc:
                raise StoreError(f"the audit store cannot be read: {exc}") from exc


class _SqliteConnection:
    """sqlite3 in autocommit mode; writes in explicit transactions (BEGIN IMMEDIATE … COMMIT)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._open = False

    def begin(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")
        self._open = True

    def cursor(self) -> Any:
        return self._connection.cursor()

    def commit(self) -> None:
        if self._open:
            self._open = False
            self._connection.execute("COMMIT")

    def rollback(self) -> None:
        if self._open:
            self._open = False
            self._connection.execute("ROLLBACK")

    def close(self) -> None:
        self._connection.close()


class _PostgresConnection:
    """A psycopg connection: a transaction begins with the first statement."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def begin(self) -> None:
        """Nothing to do: psycopg opens the transaction itself."""

    def cursor(self) -> Any:
        return self._connection.cursor()

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()
