"""Single use of client assertions: a memory of every jti until its assertion can no longer pass.

The verifier asks `first_use(client_id, jti, keep_until)` only after an assertion's signature
and times have been checked, with `keep_until` = the assertion's exp + the verifier's clock
leeway. After `keep_until` the memory may forget the jti: from then on the assertion is
refused as expired, so a replay can never succeed — the exp check takes over from the cache.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol

from auth.clock import Clock
from auth.errors import TemporarilyUnavailable

__all__ = ["InMemoryJtiCache", "JtiCache", "JtiCacheFull"]


class JtiCacheFull(TemporarilyUnavailable):
    """The cache holds its maximum of live jtis; new assertions are refused until some expire."""


class JtiCache(Protocol):
    """Remembers which (client_id, jti) pairs have been used."""

    async def first_use(self, client_id: str, jti: str, keep_until: float) -> bool:
        """Record the pair and return True if it was not already remembered; False on a replay.

        Implementations must make the check-and-record atomic, remember the pair at least
        until `keep_until` (POSIX seconds), and raise rather than answer True if they
        cannot remember it (fail closed).
        """
        ...


class InMemoryJtiCache:
    """A `JtiCache` in this process's memory, safe for threads and asyncio tasks alike.

    Holds at most `max_entries` live pairs; when full, `first_use` raises `JtiCacheFull`
    (HTTP 503) instead of forgetting a live jti. Memory is bounded by the assertion rate
    times the longest retention (300 s lifetime + leeway). A multi-process deployment needs
    a shared implementation of `JtiCache` instead.
    """

    def __init__(self, clock: Clock, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []

    async def first_use(self, client_id: str, jti: str, keep_until: float) -> bool:
        """See `JtiCache.first_use`; never awaits, so it is atomic for asyncio as well."""
        return self.first_use_now(client_id, jti, keep_until)

    def first_use_now(self, client_id: str, jti: str, keep_until: float) -> bool:
        """The synchronous core of `first_use`, for callers outside an event loop."""
        key = (client_id, jti)
        with self._lock:
            self._forget_expired(self._clock())
            if key in self._until:
                return False
            if len(self._until) >= self._max_entries:
                raise JtiCacheFull("too many client assertions in flight; try again shortly")
            self._until[key] = keep_until
            heapq.heappush(self._expiry, (keep_until, key))
            return True

    def __len__(self) -> int:
        """The number of remembered pairs (expired ones may linger until the next call)."""
        with self._lock:
            return len(self._until)

    def _forget_expired(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            until, key = heapq.heappop(self._expiry)
            if self._until.get(key) == until:
                del self._until[key]
