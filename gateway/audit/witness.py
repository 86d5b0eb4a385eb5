"""The outside witness of the trail's checkpoints: a JSON Lines file another system reads.

Every checkpoint the store signs is appended to the witness (`Witness.append`: one line with
seq, hash, signed_at, key_id and signature, flushed and fsynced before it returns), so whoever
holds a copy of that file can tell later whether the trail still reaches every witnessed
record (`gateway.audit.verify.verify_witness`). The file lives where `Settings.audit_witness`
says, by default `<gateway dir>/audit-witness.jsonl`; point it at storage the gateway's
operators cannot rewrite (another host's mount, a write-once volume) for it to bear witness.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway.audit.chain import Checkpoint

__all__ = ["Witness", "read_witness"]


class Witness:
    """Appends checkpoints to the file `path` (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        """Write `checkpoint` as one line and fsync it; `OSError` if it cannot be written."""
        line = json.dumps(
            {
                "seq": checkpoint.seq,
                "hash": checkpoint.hash,
                "signed_at": checkpoint.signed_at,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            }
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())


def read_witness(path: Path) -> list[Checkpoint]:
    """The checkpoints in the witness file `path`, in file order; `ValueError` naming the first
    malformed line, `OSError` if it cannot be read."""
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            checkpoints.append(
                Checkpoint(
                    int(row["seq"]), str(row["hash"]), str(row["signed_at"]), str(row["key_id"]), str(row["signature"])
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: not a witnessed checkpoint ({exc})") from exc
    return checkpoints
