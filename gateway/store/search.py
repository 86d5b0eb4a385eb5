"""Reading every match of one search from the FHIR store, afresh, for the gateway's own decisions.

`search_all(upstream, resource_type, params)` runs one
`GET {base}/{resource_type}?{params}&_count=<page_size>` with
`Cache-Control: no-store, max-results=<page_size>`: HAPI answers it in one page and stores
nothing (no HFJ_SEARCH row, no paging links to keep), so the gateway's own reads, made for every
request, never fill the store's disk. The answer must hold every match, so a full page (exactly
`page_size` matches, which may hide more) or a `next` link is a failure, never a partial answer:
a consent read missing a withdrawal must not permit.

It raises `SearchFailed` for any failure: the store unreachable or failing, a status other than
200, a body that is not a searchset Bundle, an entry of another type, a full page, a `next` link.
Entries with `search.mode` "outcome" are skipped.

Nothing is cached, on purpose: consents and care teams decide access, and a change to them
must apply to the very next request (HAPI never reuses cached results for a no-store request;
ours also never reuses them).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import GatewayError
from gateway.store.client import Upstream, UpstreamResponse

__all__ = ["PAGE_SIZE", "SearchFailed", "search_all"]

PAGE_SIZE = 200
"""The store's largest page (`yhteys.max-page-size`): fewer than this many matches are read whole."""


class SearchFailed(Exception):
    """The store's answer cannot be used; the message says why (for logs, not for callers)."""


async def search_all(
    upstream: Upstream,
    resource_type: str,
    params: Mapping[str, str],
    *,
    page_size: int = PAGE_SIZE,
) -> list[Mapping[str, object]]:
    """Every `resource_type` matching `params` on the store, fewer than `page_size`; see the module doc.

    `page_size` must be from 1 to `PAGE_SIZE` (the store's largest page; a larger one could let a
    page the store cut short pass as whole): `ValueError` otherwise.
    """
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {PAGE_SIZE}, not {page_size}")
    query = [*params.items(), ("_count", str(page_size))]
    headers = {"Accept": "application/fhir+json", "Cache-Control": f"no-store, max-results={page_size}"}
    try:
        answer = await upstream.send("GET", resource_type, params=query, headers=headers)
        resources = _page(answer, resource_type)
    except GatewayError as exc:  # unreachable, failing, not JSON
        raise SearchFailed(f"{type(exc).__name__}: {exc.message}") from exc
    if len(resources) >= page_size:
        raise SearchFailed(f"{page_size} or more {resource_type} match, more than one page holds")
    return resources


def _page(answer: UpstreamResponse, resource_type: str) -> list[Mapping[str, object]]:
    """The resources of the one searchset page; a `next` link is a failure."""
    if answer.status != 200:
        raise SearchFailed(f"the store answered {answer.status}")
    body = answer.json()
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle" or body.get("type") != "searchset":
        raise SearchFailed("not a searchset Bundle")
    entries = body.get("entry", [])
    links = body.get("link", [])
    if not isinstance(entries, list) or not isinstance(links, list):
        raise SearchFailed("malformed Bundle")
    if any(isinstance(link, Mapping) and link.get("relation") == "next" for link in links):
        raise SearchFailed(f"more {resource_type} match than one page holds (a next link)")
    resources: list[Mapping[str, object]] = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        search = entry.get("search") if isinstance(entry, Mapping) else None
        if isinstance(search, Mapping) and search.get("mode") == "outcome":
            continue
        if not isinstance(resource, Mapping) or resource.get("resourceType") != resource_type:
            raise SearchFailed(f"an entry that is not a {resource_type}")
        resources.append(resource)
    return resources
