"""Where audit records go: the `AuditSink` protocol and an append-only JSON Lines sink."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Protocol

from gateway.audit.record import AuditRecord
from gateway.errors import AuditUnavailable

__all__ = ["AuditSink", "JsonLinesSink"]


class AuditSink(Protocol):
    """Stores audit records durably."""

    async def record(self, record: AuditRecord) -> None:
        """Return only once `record` is on stable storage; else raise `AuditUnavailable`.

        The caller must not send its response before this returns.
        """
        ...


class JsonLinesSink:
    """Appends each record as one JSON line to `path` and fsyncs it before returning.

    Writes are serialised (one lock) and run off the event loop. Durable but not yet
    tamper-evident, and one fsync per record bounds throughput by the disk's fsync rate;
    the hash-chained store with group commit replaces it (audit issue).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def record(self, record: AuditRecord) -> None:
        line = (json.dumps(record.as_json(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                raise AuditUnavailable("the audit trail cannot be written; nothing is disclosed") from exc

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
