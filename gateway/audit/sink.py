"""Where audit records go: the `AuditSink` protocol (`gateway.audit.trail.AuditTrail` implements it)."""

from __future__ import annotations

from typing import Protocol

from gateway.audit.record import AuditRecord

__all__ = ["AuditSink"]


class AuditSink(Protocol):
    """Stores audit records durably."""

    async def record(self, record: AuditRecord) -> None:
        """Return only once `record` is on stable storage; else raise `AuditUnavailable`.

        The caller must not send its response before this returns.
        """
        ...
