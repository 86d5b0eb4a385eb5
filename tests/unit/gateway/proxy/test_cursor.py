"""Page links: opaque, bound to their caller, and refused alike when changed or foreign."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from gateway.errors import PageGone
from gateway.proxy.cursor import CursorSeal, PageCursor

CURSOR = PageCursor("abc-123", 40, 20, "CarePlan", None, (("goal", "Goal/g1"),))
ME = b"client-a\nPractitionerRole/r1"


def test_a_cursor_opens_for_its_caller_and_shows_nothing(tmp_path: Path) -> None:
    seal = CursorSeal.load(tmp_path / "key")
    token = seal.seal(CURSOR, ME)
    assert seal.open(token, ME) == CURSOR
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert token.isascii() and b"abc-123" not in raw and b'"abc-123",40' not in raw  # sealed, not encoded
    assert seal.seal(CURSOR, ME) != token  # a fresh nonce each time: equal cursors do not look equal


@pytest.mark.parametrize(
    "binding",
    [b"client-b\nPractitionerRole/r1", b"client-a\nPractitionerRole/r2", b"client-a\nNone"],
)
def test_a_cursor_does_not_open_for_anyone_else(tmp_path: Path, binding: bytes) -> None:
    seal = CursorSeal.load(tmp_path / "key")
    with pytest.raises(PageGone):
        seal.open(seal.seal(CURSOR, ME), binding)


def test_a_changed_or_made_up_cursor_is_gone(tmp_path: Path) -> None:
    seal = CursorSeal.load(tmp_path / "key")
    token = seal.seal(CURSOR, ME)
    for changed in (token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], token[:20], "", "!!!", "x" * 80):
        with pytest.raises(PageGone):
            seal.open(changed, ME)
    other = CursorSeal.load(tmp_path / "other-key")
    with pytest.raises(PageGone):
        other.open(token, ME)


def test_the_key_file_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "page-cursor-key"
    token = CursorSeal.load(path).seal(CURSOR, ME)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_bytes()) == 32
    assert CursorSeal.load(path).open(token, ME) == CURSOR  # a restarted gateway (or a replica) opens it


def test_a_key_file_of_the_wrong_size_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="32-byte"):
        CursorSeal.load(path)
