"""One page of the trail and the links to its neighbours: keyset paging on the event sequence.

Pages list matches newest first, and a page is named by a key, not by a position: `_before=<seq>`
(the matches older than that event: the next page) or `_after=<seq>` (the matches newer than it:
the page before). Every reading of the trail is itself a new event, so events arrive between
page loads; they are newer than any key, and so shift nothing: following the links, no event is
shown twice and none is skipped, however many arrive. `_offset` (FHIR's) is still understood,
but no link uses it. There is no cap: any number of pages, of at most `MAX_COUNT` each.

`Window` is where a page lies among the matches: how many are newer than its first event and how
many older than its last; "events X–Y of N" and its links follow from it. `linked(params, ...)`
is the query string of the same request with some parameters changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["EMPTY", "MAX_COUNT", "PAGE_KEYS", "PAGE_SIZE", "Window", "linked"]

PAGE_SIZE = 100
"""Events on a page when the request does not say (`_count`)."""
MAX_COUNT = 500
"""The most events one page may hold (`_count`)."""
PAGE_KEYS = ("_before", "_after", "_offset")
"""The parameters that name a page; a link to another page replaces them all."""


@dataclass(frozen=True)
class Window:
    """A page of `shown` events, the newest `first` and the oldest `last` (seqs), with `newer`
    matches before it and `older` after it. An empty page past either end has `first` and
    `last` at the key it was asked for, so its links lead back; `EMPTY` is no page at all."""

    first: int
    last: int
    shown: int
    newer: int
    older: int

    @property
    def total(self) -> int:
        """Every match, on this page and the others (N)."""
        return self.newer + self.shown + self.older

    @property
    def start(self) -> int:
        """The position of the page's first event among the matches, from 1 (X; 0 if empty)."""
        return self.newer + 1 if self.shown else 0

    @property
    def end(self) -> int:
        """The position of the page's last event (Y)."""
        return self.newer + self.shown

    def next_query(self, params: Sequence[tuple[str, str]]) -> str | None:
        """The query string of the next (older) page, or None if no match is older."""
        return _page(params, "_before", self.last) if self.older else None

    def previous_query(self, params: Sequence[tuple[str, str]]) -> str | None:
        """The query string of the page before (newer), or None if no match is newer."""
        return _page(params, "_after", self.first) if self.newer else None


EMPTY = Window(0, 0, 0, 0, 0)
"""The window of a page with no events."""


def linked(params: Sequence[tuple[str, str]], changes: Mapping[str, str | None]) -> str:
    """ "?" and the query string of `params`, in their order, with every parameter named in
    `changes` replaced by its value there (appended at the end; None drops it)."""
    kept = [(name, value) for name, value in params if name not in changes]
    added = [(name, value) for name, value in changes.items() if value is not None]
    return "?" + urlencode([*kept, *added])


def _page(params: Sequence[tuple[str, str]], key: str, seq: int) -> str:
    changes: dict[str, str | None] = {name: None for name in PAGE_KEYS}
    changes[key] = str(seq)
    return linked(params, changes)
