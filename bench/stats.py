"""Latency summaries: percentiles, mean and rate of a list of measured durations.

`Summary.of(seconds, wall)` needs at least one duration; `wall` is the elapsed time the
durations were measured in (the rate is `len(seconds) / wall`). Percentiles are nearest-rank
on the sorted durations (p99 of 100 values is the 99th smallest), so every figure reported is
a duration that was actually measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "percentile"]


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of `ordered` (sorted, non-empty)."""
    if not ordered:
        raise ValueError("no durations")
    if not 0 < p <= 100:
        raise ValueError("p must lie in (0, 100]")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Summary:
    """Durations in seconds, summarised; `rate` is per second of `wall` time."""

    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    maximum: float
    rate: float

    @classmethod
    def of(cls, seconds: Sequence[float], wall: float) -> Summary:
        """The summary of `seconds` (non-empty), measured within `wall` seconds (> 0)."""
        if wall <= 0:
            raise ValueError("wall time must be positive")
        ordered = sorted(seconds)
        return cls(
            count=len(ordered),
            p50=percentile(ordered, 50),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            mean=math.fsum(ordered) / len(ordered),
            maximum=ordered[-1],
            rate=len(ordered) / wall,
        )
