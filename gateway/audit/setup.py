"""Where the audit trail lives for given `Settings`: its store and its checkpoint key.

The store is PostgreSQL when `settings.audit_db_url` is set, else the SQLite file
`<gateway dir>/audit.sqlite`; checkpoints are signed with the Ed25519 key in
`<gateway dir>/audit-checkpoint-key.pem` (created, mode 0600, on first use), and every
checkpoint is appended to the witness file `settings.audit_witness`. The gateway and the
`yhteys audit` commands open the trail the same way.
"""

from __future__ import annotations

from gateway.audit.chain import CheckpointKey
from gateway.audit.store import AuditStore
from gateway.audit.witness import Witness
from gateway.settings import Settings

__all__ = ["checkpoint_key", "open_store"]


def open_store(settings: Settings) -> AuditStore:
    """The audit store of `settings`, witnessed (`StoreError` if it cannot be opened)."""
    witness = Witness(settings.audit_witness)
    if settings.audit_db_url:
        return AuditStore.postgresql(settings.audit_db_url, witness)
    return AuditStore.sqlite(settings.gateway_dir / "audit.sqlite", witness=witness)


def checkpoint_key(settings: Settings) -> CheckpointKey:
    """The key that signs the trail's checkpoints."""
    return CheckpointKey.load(settings.gateway_dir / "audit-checkpoint-key.pem")
