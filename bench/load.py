"""A closed-loop load generator: N workers call one async function again and again for a while.

`run_load(call, concurrency=N, duration=D, warmup=W)` runs N workers on the running event
loop; worker n awaits `call(n)` in a loop, each call starting when its previous one ended.
`call` returns an `Attempt`: the HTTP status and the seconds of the part to be measured
(the call times itself, so a preparatory request, such as the read before an update, stays
outside the latency). Attempts ending in the first W seconds are discarded (warm-up); those
ending in the next D seconds are kept (`Load`; its summary's rate is per second of D;
`together` pools several runs of one case).

The first attempt whose status is not 2xx, or whose call raises, stops every worker, and the
result is `Failed` with that status and detail instead of any number: a benchmark must not
report the speed of errors. The caller's duty: give its HTTP client a timeout and a pool
of at least N connections, and keep the call's own work (besides the request) small.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.stats import Summary

__all__ = ["Attempt", "Call", "Failed", "Load", "LoadResult", "run_load", "together"]


@dataclass(frozen=True)
class Attempt:
    """One call's outcome: HTTP status (0 if it raised), measured seconds, and a detail on failure."""

    status: int
    seconds: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Load:
    """The measured attempts' durations and the seconds of the window they ended in."""

    durations: tuple[float, ...]
    window: float

    @property
    def summary(self) -> Summary:
        """Percentiles of the durations; the rate is attempts per second of the window."""
        return Summary.of(self.durations, self.window)

    def __add__(self, other: Load) -> Load:
        """Two runs of the same case taken together (e.g. rounds alternating with another case)."""
        return Load(self.durations + other.durations, self.window + other.window)


@dataclass(frozen=True)
class Failed:
    """The run stopped at an attempt that failed: its status (0: no HTTP answer) and detail."""

    status: int
    detail: str

    def __str__(self) -> str:
        """One line fit for a Markdown table cell: FAILED (HTTP <status>: <detail>)."""
        parts = [f"HTTP {self.status}"] if self.status else []
        if self.detail:
            parts.append(" ".join(self.detail.split()).replace("|", "\\|"))
        return f"FAILED ({': '.join(parts) or 'no answer'})"


LoadResult = Load | Failed
Call = Callable[[int], Awaitable[Attempt]]
"""Worker number in, the outcome of one measured call out."""


async def run_load(call: Call, *, concurrency: int, duration: float, warmup: float) -> LoadResult:
    """Run `call` with `concurrency` workers; see the module doc."""
    if concurrency < 1 or duration <= 0 or warmup < 0:
        raise ValueError("concurrency >= 1, duration > 0 and warmup >= 0 are required")
    measure_from = time.monotonic() + warmup
    stop_at = measure_from + duration
    durations: list[float] = []
    failures: list[Attempt] = []

    async def worker(number: int) -> None:
        while not failures and time.monotonic() < stop_at:
            try:
                attempt = await call(number)
            except Exception as exc:  # a transport error is a failed attempt, not a crash
                attempt = Attempt(0, 0.0, f"{type(exc).__name__}: {exc}")
            if not attempt.ok:
                failures.append(attempt)
                return
            ended = time.monotonic()
            if measure_from <= ended <= stop_at:
                durations.append(attempt.seconds)

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    if failures:
        return Failed(failures[0].status, failures[0].detail)
    if not durations:
        return Failed(0, "no attempt completed within the measured window")
    return Load(tuple(durations), duration)


def together(before: LoadResult | None, result: LoadResult) -> LoadResult:
    """Runs of one case taken together (`before` None: the first run); a failure stands."""
    if before is None:
        return result
    if isinstance(before, Failed):
        return before
    if isinstance(result, Failed):
        return result
    return before + result
