"""Reading every match of one search from the FHIR store, afresh, for the gateway's own decisions.

`search_all(upstream, resource_type, params)` runs
`GET {base}/{resource_type}?{params}&_count=<page_size>` and follows the Bundle's `next`
links (at most `max_pages` pages, only on the store: `Upstream.follow`), returning the matched
resources. It raises `SearchFailed` for any failure: the store unreachable or failing, a status
other than 200, a body that is not a searchset Bundle, an entry of another type, a foreign or
excess `next` link. Entries with `search.mode` "outcome" are skipped.

Nothing is cached, on purpose: consents and care teams decide access, and a change to them
must apply to the very next request. The request asks the store not to reuse cached results
(`Cache-Control: no-cache`, which HAPI honours; ours also never reuses them).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import GatewayError
from gateway.store.client import Upstream, UpstreamResponse

__all__ = ["MAX_PAGES", "PAGE_SIZE", "SearchFailed", "search_all"]

PAGE_SIZE = 100
MAX_PAGES = 20
"""At most page_size × max_pages resources are read; more is a failure (fail closed)."""

_HEADERS = {"Accept": "application/fhir+json", "Cache-Control": "no-cache"}


class SearchFailed(Exception):
    """The store's answer cannot be used; the message says why (for logs, not for callers)."""


async def search_all(
    upstream: Upstream,
    resource_type: str,
    params: Mapping[str, str],
    *,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
) -> list[Mapping[str, object]]:
    """Every `resource_type` matching `params` on the store; see the module doc."""
    query = [*params.items(), ("_count", str(page_size))]
    found: list[Mapping[str, object]] = []
    try:
        answer = await upstream.send("GET", resource_type, params=query, headers=_HEADERS)
        for _ in range(max_pages):
            resources, following = _page(answer, resource_type)
            found.extend(resources)
            if following is None:
                return found
            answer = await upstream.follow(following, _HEADERS)
    except GatewayError as exc:  # unreachable, failing, not JSON, a link off the store
        raise SearchFailed(f"{type(exc).__name__}: {exc.message}") from exc
    raise SearchFailed(f"more than {max_pages} pages of {resource_type}")


def _page(answer: UpstreamResponse, resource_type: str) -> tuple[list[Mapping[str, object]], str | None]:
    """The resources of one searchset page and its `next` link (None on the last page)."""
    if answer.status != 200:
        raise SearchFailed(f"the store answered {answer.status}")
    body = answer.json()
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle" or body.get("type") != "searchset":
        raise SearchFailed("not a searchset Bundle")
    entries = body.get("entry", [])
    links = body.get("link", [])
    if not isinstance(entries, list) or not isinstance(links, list):
        raise SearchFailed("malformed Bundle")
    resources: list[Mapping[str, object]] = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        search = entry.get("search") if isinstance(entry, Mapping) else None
        if isinstance(search, Mapping) and search.get("mode") == "outcome":
            continue
        if not isinstance(resource, Mapping) or resource.get("resourceType") != resource_type:
            raise SearchFailed(f"an entry that is not a {resource_type}")
        resources.append(resource)
    following = [link.get("url") for link in links if isinstance(link, Mapping) and link.get("relation") == "next"]
    if not following:
        return resources, None
    if len(following) > 1 or not isinstance(following[0], str):
        raise SearchFailed("more than one next link")
    return resources, following[0]
