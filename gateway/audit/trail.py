"""The tamper-evident audit trail as the gateway's `AuditSink`, with group commit.

`AuditTrail.record(record)` turns the request's record into BALP AuditEvents
(`gateway.audit.balp.events_of`) and returns only when they are committed to the store
(`gateway.audit.store`); if the store fails, it raises `AuditUnavailable`, so the request is
answered 503 and nothing is disclosed.

Group commit: requests that arrive while a batch is being written wait for the next one, and
each batch is one transaction (one fsync) however many requests it holds; a single writer task
drains the queue, so a client that disconnects never strands the others' records.

Checkpoints: after every `checkpoint_every` records, and on `close()`, the head of the chain
is signed (`gateway.audit.chain.CheckpointKey`) and stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.audit.balp import events_of
from gateway.audit.chain import CheckpointKey
from gateway.audit.record import AuditRecord
from gateway.audit.store import AuditStore, Batch, StoreError
from gateway.errors import AuditUnavailable

__all__ = ["AuditTrail"]

_log = logging.getLogger("gateway.audit")


class AuditTrail:
    """The gateway's audit sink over `store`; `server` is the gateway's FHIR base (for BALP)."""

    def __init__(
        self,
        store: AuditStore,
        key: CheckpointKey,
        *,
        server: str,
        checkpoint_every: int = 1000,
        max_batch: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.public_key = key.public_key
        self._key = key
        self._server = server
        self._checkpoint_every = checkpoint_every
        self._max_batch = max_batch
        self._now = now
        self._pending: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._since_checkpoint = 0

    async def record(self, record: AuditRecord) -> None:
        """Store `record`'s events durably; `AuditUnavailable` if they cannot be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((events_of(record, server=self._server), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    async def close(self) -> None:
        """Write what is pending, sign a last checkpoint and close the store."""
        if self._writer is not None:
            await self._writer
        try:
            await asyncio.to_thread(self._checkpoint)
        finally:
            self.store.close()

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            events = [event for events, _ in batch for event in events]
            try:  # the CPU work here, the database in a thread: no GIL ping-pong with the loop
                prepared = self.store.prepare(events)
                await asyncio.to_thread(self._commit, prepared)
            except StoreError as exc:
                _log.error("audit write failed: %s", exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            AuditUnavailable("the audit trail cannot be written; nothing is disclosed")
                        )
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _commit(self, batch: Batch) -> None:
        self.store.commit(batch)
        self._since_checkpoint += len(batch.rows)
        if self._since_checkpoint >= self._checkpoint_every:
            try:
                self._checkpoint()
            except StoreError as exc:  # the records are in; the next checkpoint will cover them
                _log.error("audit checkpoint failed: %s", exc)

    def _checkpoint(self) -> None:
        seq, hash_ = self.store.head()
        last = self.store.last_checkpoint()
        if seq == 0 or (last is not None and last.seq == seq):
            return
        self.store.add_checkpoint(self._key.sign(seq, hash_, self._now().isoformat()))
        self._since_checkpoint = 0
