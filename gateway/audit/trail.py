"""The tamper-evident audit trail as the gateway's `AuditSink`, with group commit.

`AuditTrail.record(record)` turns the request's record into BALP AuditEvents
(`gateway.audit.balp.events_of`) and returns only when they are committed to the store
(`gateway.audit.store`); if the store fails, it raises `AuditUnavailable`, so the request is
answered 503 and nothing is disclosed.

Group commit: requests that arrive while a batch is being written wait for the next one, and
each batch is one transaction (one fsync) however many requests it holds; a single writer task
drains the queue, so a client that disconnects never strands the others' records.

Checkpoints: the head of the chain is signed (`gateway.audit.chain.CheckpointKey`) and stored
(and so witnessed, `gateway.audit.witness`) right after the batch that brings `checkpoint_every`
unsigned records, right after any batch committed `checkpoint_interval` seconds or more after
the last checkpoint (under load: at most that far apart), by a timer that many seconds after
the last checkpoint when records are left unsigned and no batch follows, and on `close()`. So
the records newer than the newest checkpoint — at most `checkpoint_interval` seconds of them —
are the only ones that can be cut off the end undetected. A checkpoint adds no transaction per
request: at most one per batch.

Fail closed: when a checkpoint cannot be signed, stored or witnessed, the trail can no longer
prove its tail, so no further record is written until one can: each batch first tries the
checkpoint again, and while that fails its requests are answered 503 (`AuditUnavailable`) and
nothing is disclosed. The records committed before the failure are covered by the first
checkpoint that succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
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
        checkpoint_interval: float = 1.0,
        max_batch: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`now` dates the checkpoints; `clock` (seconds, monotonic) times `checkpoint_interval`."""
        self.store = store
        self.public_key = key.public_key
        self._key = key
        self._server = server
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval = checkpoint_interval
        self._clock = clock
        self._checkpointed_at = clock()
        self._timer: asyncio.Task[None] | None = None
        self._signing = asyncio.Lock()  # a batch's commit and the timer's checkpoint, one at a time
        self._head_signing = threading.Lock()  # a cancelled timer's thread and close() never sign twice
        self._max_batch = max_batch
        self._now = now
        self._pending: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._since_checkpoint = 0
        self._unproven = False  # a checkpoint failed: nothing more is written until one succeeds

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
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
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
                async with self._signing:
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
        if self._since_checkpoint and (self._timer is None or self._timer.done()):
            self._timer = asyncio.create_task(self._sign_when_due())

    async def _sign_when_due(self) -> None:
        """Sleep until `checkpoint_interval` after the last checkpoint, then sign what is unsigned."""
        while self._since_checkpoint:
            due = self._checkpointed_at + self._checkpoint_interval - self._clock()
            if due > 0:
                await asyncio.sleep(due)
                continue
            async with self._signing:
                if self._since_checkpoint:
                    await asyncio.to_thread(self._checkpoint_logged)

    def _commit(self, batch: Batch) -> None:
        if self._unproven:  # the tail is not proven: prove it first, or write nothing
            self._checkpoint()
        self.store.commit(batch)
        self._since_checkpoint += len(batch.rows)
        if (
            self._since_checkpoint >= self._checkpoint_every
            or self._clock() - self._checkpointed_at >= self._checkpoint_interval
        ):
            self._checkpoint_logged()

    def _checkpoint_logged(self) -> None:
        try:
            self._checkpoint()
        except StoreError as exc:  # the records are in; the next checkpoint will cover them
            _log.error("audit checkpoint failed, no more records until one succeeds: %s", exc)
            self._unproven = True
            self._checkpointed_at = self._clock()  # tried: the timer tries again one interval later

    def _checkpoint(self) -> None:
        with self._head_signing:
            seq, hash_ = self.store.head()
            last = self.store.last_checkpoint()
            if seq != 0 and (last is None or last.seq != seq):
                self.store.add_checkpoint(self._key.sign(seq, hash_, self._now().isoformat()))
            elif self._unproven and last is not None:  # signed and stored, but not witnessed
                self.store.witness(last)
            self._since_checkpoint = 0
            self._unproven = False
            self._checkpointed_at = self._clock()
