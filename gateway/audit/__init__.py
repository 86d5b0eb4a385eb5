"""The audit seam: every request through the gateway, allowed, denied or failed, is recorded.

`AuditRecord` is what the request path hands over; `AuditSink.record` must store it durably
before the response leaves, or raise `gateway.errors.AuditUnavailable` (the request then gets
503 and nothing is disclosed). `gateway.audit.trail.AuditTrail` is the sink: BALP AuditEvents
(`balp`) in a hash-chained, append-only store (`store`, `chain`) with signed checkpoints,
checked and exported by `verify`; auditors read it through `api`.
"""

from __future__ import annotations

from gateway.audit.record import Anonymous, AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.sink import AuditSink

__all__ = ["Anonymous", "AuditOutcome", "AuditRecord", "AuditSink", "Caller", "Disclosed"]
