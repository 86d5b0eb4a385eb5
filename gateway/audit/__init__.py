"""The audit seam: every request through the gateway, allowed, denied or failed, is recorded.

`AuditRecord` is what the request path hands over; `AuditSink.record` must store it durably
before the response leaves, or raise `gateway.errors.AuditUnavailable` (the request then gets
503 and nothing is disclosed). `JsonLinesSink` is the first sink: append-only JSON Lines,
fsynced per record. The tamper-evident store and the BALP AuditEvents come with the audit
issue and plug in behind the same protocol.
"""

from __future__ import annotations

from gateway.audit.record import Anonymous, AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.sink import AuditSink, JsonLinesSink

__all__ = ["Anonymous", "AuditOutcome", "AuditRecord", "AuditSink", "Caller", "Disclosed", "JsonLinesSink"]
