"""Checking the audit trail, and exporting a range of it that an outsider can check alone.

`verify(events, checkpoints, public_key, anchor=...)` walks the records in order and returns a
`Verdict` naming the first broken position, if any:
- a record missing, duplicated or out of place (seq not the next one) — deletion, insertion;
- a record not linking to the one before (prev_hash) — reordering, insertion;
- a record whose canonical event does not hash to its stored hash, that is not in canonical
  form, or that carries another position's id — alteration;
- a record whose stored index columns (patient, outcome, agent, …) differ from those derived
  from its hashed event (`gateway.audit.store.index_values`) — the first such column is named;
- a checkpoint whose Ed25519 signature does not verify with `public_key`, whose hash differs
  from the chain's at its position (the chain was rewritten and re-hashed), or that names a
  record the trail no longer has (records cut off at the end).

`verify_witness(witnessed, checkpoints, last, public_key)` checks the trail (its checkpoints
and its last seq, once `verify` has found them consistent with the chain) against the
checkpoints an outside witness holds (`gateway.audit.witness`): each witnessed checkpoint must
verify with `public_key` and be in the trail with the same hash, and the trail must reach the
newest witnessed record — else records were cut off at the end, and it says from which seq.

`export_lines(store, key, first, last)` writes records `first..last` as JSON Lines: a header
(format, range, the hash before `first` as anchor, the checkpoint public key), the records,
and every checkpoint in the range — the last record is always checkpointed (the caller signs
one first if needed). `verify_export(lines)` checks such a file with only what it contains;
the auditor compares the header's key id with the one the county publishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import GENESIS, Checkpoint, CheckpointKey, library_canonical, link, public_key_of_jwk
from gateway.audit.store import INDEX_COLUMNS, AuditStore, StoredEvent, index_values

__all__ = ["EXPORT_FORMAT", "Verdict", "export_lines", "verify", "verify_export", "verify_witness"]

EXPORT_FORMAT = "yhteys-audit-export/1"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `first_broken` is the first position found broken (None: intact)."""

    records: int
    checkpoints: int
    first_broken: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify(
    events: Iterable[StoredEvent],
    checkpoints: list[Checkpoint],
    public_key: Ed25519PublicKey,
    *,
    anchor: tuple[int, str] = (0, GENESIS),
) -> Verdict:
    """Check records following `anchor` (seq, hash) and the checkpoints; see the module doc."""
    expected, previous = anchor[0] + 1, anchor[1]
    hashes: dict[int, str] = {}
    wanted = {checkpoint.seq for checkpoint in checkpoints}
    count = 0
    for event in events:
        problem = _record_problem(event, expected, previous)
        if problem:
            return Verdict(count, 0, min(expected, event.seq), problem)
        if event.seq in wanted:
            hashes[event.seq] = event.hash
        previous, expected, count = event.hash, expected + 1, count + 1
    last = expected - 1
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if not checkpoint.verifies_with(public_key):
            return Verdict(count, 0, checkpoint.seq, f"the checkpoint at record {checkpoint.seq} has a bad signature")
        if checkpoint.seq > last:
            return Verdict(
                count, 0, last + 1, f"a signed checkpoint names record {checkpoint.seq}, but the trail ends at {last}"
            )
        if checkpoint.seq > anchor[0] and hashes.get(checkpoint.seq) != checkpoint.hash:
            return Verdict(
                count, 0, checkpoint.seq,
                f"the records up to {checkpoint.seq} differ from the checkpoint signed at {checkpoint.signed_at}",
            )  # fmt: skip
    return Verdict(count, len(checkpoints))


def verify_witness(
    witnessed: list[Checkpoint], checkpoints: list[Checkpoint], last: int, public_key: Ed25519PublicKey
) -> Verdict:
    """Check a trail whose records end at `last` and whose checkpoints are `checkpoints` (both
    already checked by `verify`) against the `witnessed` checkpoints; see the module doc."""
    held = {checkpoint.seq: checkpoint.hash for checkpoint in checkpoints}
    for checkpoint in sorted(witnessed, key=lambda c: c.seq):
        if not checkpoint.verifies_with(public_key):
            return Verdict(
                last, 0, checkpoint.seq, f"the witnessed checkpoint at record {checkpoint.seq} has a bad signature"
            )
        if checkpoint.seq > last:
            return Verdict(
                last, 0, last + 1,
                f"the tail was cut: the trail ends at record {last}, but record {checkpoint.seq} was witnessed "
                f"(signed at {checkpoint.signed_at}); records from {last + 1} are gone",
            )  # fmt: skip
        if held.get(checkpoint.seq) != checkpoint.hash:
            return Verdict(
                last, 0, checkpoint.seq,
                f"the trail does not hold the checkpoint witnessed at record {checkpoint.seq} "
                f"(signed at {checkpoint.signed_at})",
            )  # fmt: skip
    return Verdict(last, len(witnessed))


def _record_problem(event: StoredEvent, expected: int, previous: str) -> str | None:
    if event.seq != expected:
        return f"record {expected} is missing or out of place (found {event.seq})"
    if event.prev_hash != previous:
        return f"record {event.seq} does not link to the record before it"
    body = event.event.encode()
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"record {event.seq} is not JSON"
    if library_canonical(parsed) != body or not isinstance(parsed, dict) or parsed.get("id") != str(event.seq):
        return f"record {event.seq} is not the canonical event stored at this position"
    if link(previous, body) != event.hash:
        return f"record {event.seq} does not match its hash"
    if event.columns is not None:
        try:
            derived: tuple[str | None, ...] = index_values(parsed)
        except (KeyError, TypeError, IndexError, AttributeError):
            return f"record {event.seq} is not an event the trail indexes"
        for column, stored, wanted in zip(INDEX_COLUMNS, event.columns, derived, strict=True):
            if stored != wanted:
                return f"record {event.seq}: its column {column} is {stored!r}, its hashed event says {wanted!r}"
    return None


def export_lines(store: AuditStore, key: CheckpointKey, first: int, last: int) -> Iterator[str]:
    """The export of records `first..last` (see the module doc); `last` must be checkpointed."""
    checkpoints = [c for c in store.checkpoints() if first <= c.seq <= last]
    if not checkpoints or checkpoints[-1].seq != last:
        raise ValueError(f"record {last} has no checkpoint; sign one before exporting")
    anchor = (first - 1, GENESIS)
    if first > 1:
        before = next(store.events(first - 1, first - 1), None)
        if before is None:
            raise ValueError(f"record {first - 1} is not in the trail")
        anchor = (before.seq, before.hash)
    header = {"kind": "header", "format": EXPORT_FORMAT, "from": first, "to": last,
              "anchor": {"seq": anchor[0], "hash": anchor[1]}, "publicKey": key.public_jwk()}  # fmt: skip
    yield json.dumps(header)
    for event in store.events(first, last):
        yield json.dumps(
            {"kind": "event", "seq": event.seq, "event": event.event, "prev_hash": event.prev_hash, "hash": event.hash}
        )
    for c in checkpoints:
        yield json.dumps(
            {
                "kind": "checkpoint",
                "seq": c.seq,
                "hash": c.hash,
                "signed_at": c.signed_at,
                "key_id": c.key_id,
                "signature": c.signature,
            }
        )


def verify_export(lines: Iterable[str]) -> Verdict:
    """Check an export with nothing but its own content."""
    rows = [json.loads(line) for line in lines if line.strip()]
    if not rows or rows[0].get("kind") != "header" or rows[0].get("format") != EXPORT_FORMAT:
        return Verdict(0, 0, 0, "not a Yhteys audit export")
    header: dict[str, Any] = rows[0]
    try:
        public_key = public_key_of_jwk(header["publicKey"])
        anchor = (int(header["anchor"]["seq"]), str(header["anchor"]["hash"]))
        events = [
            StoredEvent(int(r["seq"]), str(r["event"]), str(r["prev_hash"]), str(r["hash"]))
            for r in rows
            if r.get("kind") == "event"
        ]
        checkpoints = [
            Checkpoint(int(r["seq"]), str(r["hash"]), str(r["signed_at"]), str(r["key_id"]), str(r["signature"]))
            for r in rows if r.get("kind") == "checkpoint"
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        return Verdict(0, 0, 0, f"the export is malformed: {exc}")
    if not checkpoints or max(c.seq for c in checkpoints) != int(header["to"]):
        return Verdict(
            len(events), 0, int(header["to"]), "the export's last record is not covered by a signed checkpoint"
        )
    return verify(events, checkpoints, public_key, anchor=anchor)
