"""Follow-up page links the caller cannot read, change or use as anyone else.

The gateway pages a search or a history itself (`gateway.proxy.pages`): a page holds the next
matches the caller may see, so where the next one begins in the store's result — the store's
offset — tells how many hidden matches were passed over. The link to the next page therefore
carries a `PageCursor` sealed with AES-GCM (`CursorSeal`): the caller cannot read the offset,
and a cursor changed by one bit, or presented by another caller (the cursor is bound to the
client system and the acting professional it was made for), does not open. `open` raises
`PageGone` (410) for all of these alike.

The key is 32 random bytes in a file (mode 0600) under the gateway's directory, made on first
use, so replicas that share the directory accept each other's links.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import PageGone

__all__ = ["CursorSeal", "PageCursor"]

_NONCE = 12


@dataclass(frozen=True)
class PageCursor:
    """Where the next page begins: `search` the page's source in the store (`Page.source`: its
    stored search, or the instance history), the offset in its result (for a history, the
    store's number of the version the page begins at),
    the page size, what was searched or whose history it is (`resource_type`, `resource_id`),
    and the search terms a page's entries must still match in what the caller sees."""

    search: str
    offset: int
    count: int
    resource_type: str | None
    resource_id: str | None
    terms: tuple[tuple[str, str], ...]

    def to_json(self) -> bytes:
        return json.dumps(
            [self.search, self.offset, self.count, self.resource_type, self.resource_id, self.terms],
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PageCursor:
        search, offset, count, rtype, rid, terms = json.loads(data)
        return cls(search, int(offset), int(count), rtype, rid, tuple((str(n), str(v)) for n, v in terms))


class CursorSeal:
    """Seals and opens `PageCursor`s with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def load(cls, path: Path) -> CursorSeal:
        """The seal whose key is in `path`, created (mode 0600) if there is none."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(AESGCM.generate_key(bit_length=256))
        key = path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{path}: not a 32-byte key")
        return cls(key)

    def seal(self, cursor: PageCursor, binding: bytes) -> str:
        """`cursor` as an opaque, URL-safe string that opens only with the same `binding`
        (`RequestContext.binding()`: the caller it was made for)."""
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, cursor.to_json(), binding)
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()

    def open(self, token: str, binding: bytes) -> PageCursor:
        """The cursor sealed in `token` with `binding`; `PageGone` if it is not one."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], binding)
            return PageCursor.from_json(data)
        except (binascii.Error, ValueError, TypeError, InvalidTag):
            raise PageGone("this page is not known, or it has expired; search again") from None
