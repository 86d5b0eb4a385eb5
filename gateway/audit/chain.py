"""The hash chain and the signed checkpoints that make the audit trail tamper-evident.

Every stored event is canonical JSON (RFC 8785, `canonical`; `library_canonical` is the
reference the verifier uses) and every record's hash covers the
previous record's hash and its own canonical bytes: `link(prev, event) = SHA-256(prev || event)`
in hex, starting from `GENESIS`. Changing, deleting, inserting or reordering a record breaks
every hash after it. A checkpoint signs (Ed25519) the position and hash of the chain at a
moment (`Checkpoint`), so a rewritten chain — every hash recomputed — still fails against
the checkpoints, as long as the signing key was not taken too.

`CheckpointKey.load(path)` reads the private key (PKCS#8 PEM), creating it with mode 0600 on
first use; `key_id` names its public half (first 16 hex digits of the SHA-256 of the raw
public key), and `public_jwk` exports it for an external verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["GENESIS", "Checkpoint", "CheckpointKey", "canonical", "library_canonical", "link", "public_key_of_jwk"]

GENESIS = "0" * 64
"""The hash before the first record."""


def canonical(value: Any) -> bytes:
    """`value` as RFC 8785 canonical JSON (UTF-8), as the `rfc8785` library writes it.

    For JSON made only of objects with ASCII keys, arrays, strings, booleans, null and integers
    below 2**53 in magnitude, RFC 8785's output is exactly what `json.dumps` writes with sorted
    keys, no spaces and no ASCII escaping (same string escapes, same key order, no floats to
    format). `json.dumps` writes it; reading it back (`json.loads`, in C, with hooks that object
    to floats, large integers and non-ASCII keys) proves the value lies in that subset, and
    anything else goes to the library. `verify` always recomputes with the library, so a
    difference could never pass unnoticed.
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        json.loads(
            text, parse_float=_not_plain, parse_int=_safe_int, object_pairs_hook=None if text.isascii() else _ascii_keys
        )
        return text.encode("utf-8")
    except (_NotPlain, TypeError, ValueError):  # ValueError: also lone surrogates, NaN
        return library_canonical(value)


def library_canonical(value: Any) -> bytes:
    """`value` as RFC 8785 canonical JSON, always by the `rfc8785` library (the reference)."""
    return rfc8785.dumps(value)


class _NotPlain(Exception):
    """The value is outside the subset where `json.dumps` is RFC 8785."""


def _not_plain(text: str) -> Any:
    raise _NotPlain(text)


def _safe_int(text: str) -> int:
    number = int(text)
    if not -(2**53) < number < 2**53:  # beyond, the library refuses (not an IEEE double's safe integer)
        raise _NotPlain(text)
    return number


def _ascii_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if not all(key.isascii() for key, _ in pairs):
        raise _NotPlain("a key that is not ASCII")
    return dict(pairs)


def link(previous: str, event: bytes) -> str:
    """The hash of a record: SHA-256 over the previous hash (raw bytes) and the canonical event."""
    return hashlib.sha256(bytes.fromhex(previous) + event).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain's record `seq` has hash `hash` (signed at `signed_at`)."""

    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str

    def payload(self) -> bytes:
        """The canonical bytes the signature covers."""
        return canonical({"seq": self.seq, "hash": self.hash, "signedAt": self.signed_at, "keyId": self.key_id})

    def verifies_with(self, public_key: Ed25519PublicKey) -> bool:
        """True if the signature is the key's over `payload()`."""
        try:
            public_key.verify(
                base64.urlsafe_b64decode(self.signature + "=" * (-len(self.signature) % 4)), self.payload()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


class CheckpointKey:
    """The Ed25519 key that signs checkpoints."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self._raw_public = raw

    @classmethod
    def load(cls, path: Path) -> CheckpointKey:
        """The key at `path`, created (mode 0600) if there is none."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    def sign(self, seq: int, hash_: str, signed_at: str) -> Checkpoint:
        """A checkpoint for record `seq` with hash `hash_`."""
        unsigned = Checkpoint(seq, hash_, signed_at, self.key_id, "")
        signature = base64.urlsafe_b64encode(self._private.sign(unsigned.payload())).rstrip(b"=").decode()
        return Checkpoint(seq, hash_, signed_at, self.key_id, signature)

    def public_jwk(self) -> dict[str, str]:
        """The public key as an OKP JWK (RFC 8037), with its key id."""
        x = base64.urlsafe_b64encode(self._raw_public).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.key_id}


def public_key_of_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key of an OKP JWK; `ValueError` for anything else."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise ValueError("not an Ed25519 public JWK")
    x = jwk["x"]
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
