"""A page of a search or a history made only of what the caller may see.

The store pages its result by what it found; a page that the gateway then filtered would be
short by the hidden matches, an empty last page or a `next` link would exist only because a
hidden match exists, and an offset in a link would count them. So the gateway pages itself:
`gather(store, first, start, want, shown)` reads the store's result from offset `start` on,
page after page, until it holds `want` matches the caller may see and knows whether one more
follows. Every page but the last therefore holds exactly `want` entries, the last holds at
least one (an empty result is one empty page), and a next page exists only if a match the
caller may see follows; where it begins is handed back as an offset for a sealed cursor
(`gateway.proxy.cursor`), never shown, with the page's `source`: the store's stored search,
or the instance history, which the store pages by `_offset`; `read_on(store, source, offset,
count)` reads a page of either (a history always afresh — the store would answer a history
read in the last minute from what it found then — with a next link exactly when more follow).

`shown(resources, offset, more)` gives, for the store's matches of one page (from `offset` of
the result, `more` if the store has entries after them; a history's deletion is a None),
what the caller sees of each (None: nothing — not permitted, withheld, no longer a match in
what it sees, or a version that shows no change of its own). Entries the
store included (`search.mode` include) are kept aside; `Page.pointed` keeps only those the
page's matches point to or that point to one of them, so an include never follows a
reference the caller does not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gateway.errors import PageGone, UpstreamFailure
from gateway.fhir.media import FHIR_JSON
from gateway.proxy.references import references_of
from gateway.store.client import Upstream
from gateway.store.search import PAGE_SIZE

__all__ = ["Page", "Shown", "gather", "read_on", "resource_key"]

Shown = Callable[[list[dict[str, Any] | None], int, bool], Awaitable[list[dict[str, Any] | None]]]
"""What the caller sees of each of the store's matches of one page (None: nothing), given the
matches' resources (None: a deletion), the offset of the first and whether more follow."""


@dataclass
class Page:
    """The matches of one page as the caller sees them (each with its store entry), the store's
    included entries met on the way, and where the next page begins (or None)."""

    matches: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    includes: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    next_offset: int | None = None

    def pointed(self, include_views: Sequence[dict[str, Any] | None]) -> list[int]:
        """The indexes of the included entries (their views given in order) linked with the page."""
        shown = {resource_key(view) for _, view in self.matches}
        referenced = {ref for _, view in self.matches for _, ref in references_of(view) if isinstance(ref, str)}
        kept: list[int] = []
        seen: set[str] = set()
        for index, view in enumerate(include_views):
            if view is None or resource_key(view) in shown | seen:
                continue
            back = any(isinstance(ref, str) and ref in shown for _, ref in references_of(view))
            if resource_key(view) in referenced or back:
                kept.append(index)
                seen.add(resource_key(view))
        return kept


def resource_key(resource: Mapping[str, Any]) -> str:
    """`Type/id` of a resource."""
    return f"{resource.get('resourceType')}/{resource.get('id')}"


async def gather(
    store: Upstream, first: Mapping[str, Any], start: int, want: int, shown: Shown, history: str | None = None
) -> Page:
    """The page of `want` visible matches from offset `start`, `first` being the store's page
    that begins there (of the instance history at path `history`, if given); see the module doc."""
    page, bundle, offset = Page(source=_source(first, history)), first, start
    visible: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    while True:
        entries = [e for e in bundle.get("entry", []) or [] if isinstance(e, dict)]
        matches = [e for e in entries if _mode(e) == "match"]
        page.includes += [e for e in entries if _mode(e) == "include" and isinstance(e.get("resource"), dict)]
        views = await shown([_resource_of(e) for e in matches], offset, _has_next(bundle))
        visible += [(offset + i, e, v) for i, (e, v) in enumerate(zip(matches, views, strict=True)) if v is not None]
        offset += len(matches)
        if len(visible) > want or not matches or not _has_next(bundle) or page.source is None:
            break
        bundle = await read_on(store, page.source, offset, min(2 * (want + 1), PAGE_SIZE))
    page.matches = [(entry, view) for _, entry, view in visible[:want]]
    page.next_offset = visible[want][0] if len(visible) > want else None
    return page


async def read_on(store: Upstream, source: str, offset: int, count: int) -> dict[str, Any]:
    """The store's page of `count` entries from `offset` of `source` (`Page.source`: a stored
    search, or an instance history); `PageGone` if the store no longer has the search."""
    headers = {"Accept": FHIR_JSON}
    history = source.endswith("/_history")
    if history:  # one more than asked: the store's next link is not reliable in offset paging
        path, params = source, [("_count", str(count + 1)), ("_offset", str(offset))]
        headers["Cache-Control"] = "no-cache"  # the store would reuse a history read a minute ago
    else:
        path = ""
        params = [("_getpages", source), ("_getpagesoffset", str(offset)), ("_count", str(count))]
        params.append(("_bundletype", "searchset"))
    answer = await store.send("GET", path, params=params, headers=headers)
    if answer.status in (404, 410):
        raise PageGone("this page is not known, or it has expired; search again")
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise UpstreamFailure("the FHIR store did not answer a page of its search")
    if not history:
        return body
    entries = body.get("entry") or []
    links = [{"relation": "next", "url": f"{source}?_offset={offset + count}"}] if len(entries) > count else []
    return {**body, "entry": entries[:count], "link": links}


def _resource_of(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    resource = entry.get("resource")
    return resource if isinstance(resource, dict) else None


def _mode(entry: Mapping[str, Any]) -> str:
    """An entry's search mode: `match` (also every entry of a history), `include` or `outcome`
    (the store's remarks on the search, which are left out)."""
    search = entry.get("search")
    return str(search.get("mode", "match")) if isinstance(search, Mapping) else "match"


def _has_next(bundle: Mapping[str, Any]) -> bool:
    return any(isinstance(link, dict) and link.get("relation") == "next" for link in bundle.get("link", []) or [])


def _source(bundle: Mapping[str, Any], history: str | None) -> str | None:
    """Where the store's result of `bundle` is read on, from the `next` link of its page: the id
    of its stored search (`_getpages`), or `history`, the path of the instance history the
    store pages by `_offset`; None if the page has no next link the gateway can follow."""
    for link in bundle.get("link", []) or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            query = dict(parse_qsl(urlsplit(link["url"]).query))
            if query.get("_getpages"):
                return query["_getpages"]
            if history is not None and "_offset" in query:
                return history
    return None
