"""Time as the auth server sees it: an injectable clock and the skew it tolerates.

Every module that compares times takes a `Clock` (a zero-argument callable returning POSIX
seconds) instead of calling `time.time()` itself, so tests can move time at will.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MAX_LEEWAY", "Clock", "check_leeway", "system_clock"]

Clock = Callable[[], float]
"""A source of the current time in POSIX seconds."""

MAX_LEEWAY = 30.0
"""The largest clock skew (seconds) any check in `auth` may tolerate."""


def system_clock() -> float:
    """The wall clock, `time.time()`."""
    return time.time()


def check_leeway(leeway: float) -> float:
    """Return `leeway` if it lies in [0, MAX_LEEWAY]; raise `ValueError` otherwise."""
    if not 0 <= leeway <= MAX_LEEWAY:
        raise ValueError(f"clock leeway must be between 0 and {MAX_LEEWAY:g} s, got {leeway!r}")
    return leeway
