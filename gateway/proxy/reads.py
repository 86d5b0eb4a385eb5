"""The read path: read, vread, search, instance history and their follow-up pages.

`ReadPath.serve(context, call, cursor)` forwards one read to the store and answers what the
caller may see of the result. Hidden looks exactly like missing everywhere:
- a resource the caller may not see at all — refused by the consent, by the role for that
  resource, or carrying a label hidden from it — is answered exactly as an id that does not
  exist (404, the same OperationOutcome and headers; the reasons go to the audit only);
  labelled parts it may not see are removed (`gateway.proxy.redaction`);
- a version (vread) and a history belong to the resource as it is now: the current version is
  read first, and if it is missing, deleted or hidden the answer is that same 404; each
  earlier version is redacted by its own labels and by those of the current version
  (`gateway.proxy.versions`), so a part labelled later stays hidden in its past;
- the versions of a plan or a team are those the caller can tell apart
  (`gateway.proxy.history`): named by what it sees, one per change it can see, so an edit to
  parts hidden from it changes no version, ETag or `lastUpdated` it is shown;
- a search or a history is paged by the gateway (`gateway.proxy.pages`): each match decided
  for its own client and redacted, a search match left out if what the caller sees of it no
  longer matches the search's terms over labelled parts (`SearchRules.view_matches`),
  included resources kept only where the page's matches link to them; the next page is a
  sealed cursor (`gateway.proxy.cursor`). The Bundle has no `total`, no store ids, and only
  `self` and `next` links, on the gateway.
A store answer other than 200 is passed on as a sanitised OperationOutcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gateway.access.seam import Effect, Withheld
from gateway.errors import BadRequest, NotFound, PageGone, Unseen, UpstreamFailure, unknown
from gateway.fhir.codes import Interaction
from gateway.fhir.labels import Label
from gateway.fhir.media import FHIR_JSON
from gateway.proxy.call import FhirCall
from gateway.proxy.context import RequestContext
from gateway.proxy.cursor import CursorSeal, PageCursor
from gateway.proxy.history import SeenHistory, as_seen, seen_entry, seen_headers, version_views
from gateway.proxy.pages import Page, gather, read_on
from gateway.proxy.redaction import redact
from gateway.proxy.search import SearchRules
from gateway.proxy.urls import PublicUrls
from gateway.proxy.versions import NAMED_TYPES
from gateway.served import Served
from gateway.store.client import Upstream, UpstreamResponse, sanitize_outcome

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "ReadPath", "passthrough"]

DEFAULT_PAGE = 20
"""Entries per page when the caller gives no `_count`."""
MAX_PAGE = 100
"""The largest `_count` honoured."""


@dataclass(frozen=True)
class ReadPath:
    """Reads through `store`, links on the gateway (`urls`), searches by `rules`, pages sealed by `cursors`."""

    store: Upstream
    urls: PublicUrls
    rules: SearchRules
    cursors: CursorSeal

    async def serve(self, context: RequestContext, call: FhirCall, cursor: PageCursor | None = None) -> Served:
        """One read of `context`'s caller (a follow-up page if `cursor`); see the module doc."""
        try:
            return await self._serve(context, call, cursor)
        except _Refused as refused:
            return passthrough(refused.answer, context.patients())

    async def _serve(self, context: RequestContext, call: FhirCall, cursor: PageCursor | None) -> Served:
        if call.interaction is Interaction.READ:
            answer = await self._get(_path(call), call.params)
            resource = _resource(answer, call, _path(call))
            [view] = await self._seen_views(context, [resource], call.interaction)
            if view is None:
                raise Unseen(unknown(_path(call)), context.reasons())
            headers = seen_headers(self.urls.headers(answer), call.resource_type, view)
            return Served(200, view, headers, context.patients(), Effect.PERMIT, context.reasons())
        current = None
        if call.resource_id is not None:
            current = await self._current(context, call)
        if call.interaction is Interaction.VREAD:
            assert current is not None and call.version_id is not None
            view, headers = await self._version(context, call, current)
            return Served(200, view, headers, context.patients(), Effect.PERMIT, context.reasons())
        return await self._page(context, call, current, cursor)

    async def _version(
        self, context: RequestContext, call: FhirCall, current: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The version `call` names of `current` as the caller sees it, with its headers; the
        404 of a missing version if the caller was never shown it."""
        assert call.version_id is not None
        if call.resource_type in NAMED_TYPES:
            view = await SeenHistory(self.store, context, current, call.interaction).find(call.version_id)
            if view is None:
                raise NotFound(unknown(_path(call)))
            return view, seen_headers({}, call.resource_type, view)
        answer = await self._get(_path(call), ())
        [view] = await version_views(context, [_resource(answer, call, _path(call))], current, call.interaction)
        if view is None:
            raise Unseen(unknown(_path(call)), context.reasons())
        return view, self.urls.headers(answer)

    async def _current(self, context: RequestContext, call: FhirCall) -> dict[str, Any]:
        """The resource of a vread or history as it is now; 404 if the caller may not see it."""
        assert call.resource_type is not None and call.resource_id is not None
        path = f"{call.resource_type}/{call.resource_id}"
        current = _resource(await self._get(path, ()), call, path)
        if (await _views(context, [current], call.interaction)) == [None]:
            raise Unseen(unknown(path), context.reasons())
        return current

    async def _page(
        self, context: RequestContext, call: FhirCall, current: dict[str, Any] | None, cursor: PageCursor | None
    ) -> Served:
        want = cursor.count if cursor else _count_of(call)
        terms = cursor.terms if cursor else self.rules.terms(call)
        # a history's cursor holds the store version the next page begins at, not an offset: a
        # version added since (by an edit the caller may not see) shifts no page
        top = _version_number(current) if current is not None else None
        if cursor is None and top is not None:
            first, start = await read_on(self.store, _path(call), 0, want), 0
        elif cursor is None:
            params = [(n, v) for n, v in call.params if n not in ("_count", "_format", "_pretty")]
            first = _bundle(await self._get(_path(call), (*params, ("_count", str(want)))))
            start = 0
        else:
            start = cursor.offset if top is None else top - cursor.offset
            if start < 0:
                raise PageGone("this page is not known, or it has expired; search again")
            first = await read_on(self.store, cursor.search, start, cursor.count)

        async def matching(
            resources: list[dict[str, Any] | None], offset: int, more: bool
        ) -> list[dict[str, Any] | None]:
            views = await self._seen_views(context, resources, call.interaction)
            return [
                v if v is not None and self.rules.view_matches(call.resource_type, terms, v) else None for v in views
            ]

        if current is not None:
            page = await gather(
                self.store, first, start, want, SeenHistory(self.store, context, current, call.interaction), _path(call)
            )
        else:
            page = await gather(self.store, first, start, want, matching)
        resume = page.next_offset if top is None or page.next_offset is None else top - page.next_offset
        bundle = await self._bundle(context, call, first, page, resume, want, terms, cursor is not None)
        return Served(200, bundle, {}, context.patients(), Effect.PERMIT, context.reasons())

    async def _bundle(
        self,
        context: RequestContext,
        call: FhirCall,
        first: Mapping[str, Any],
        page: Page,
        resume: int | None,
        want: int,
        terms: tuple[tuple[str, str], ...],
        paged: bool,
    ) -> dict[str, Any]:
        includes = [entry["resource"] for entry in page.includes]
        views = await self._seen_views(context, includes, Interaction.SEARCH) if includes else []
        entries = [{**seen_entry(entry, view), "resource": view} for entry, view in page.matches]
        entries += [
            {**seen_entry(page.includes[i], view), "resource": view}
            for i in page.pointed(views)
            if (view := views[i]) is not None
        ]
        links = [{"relation": "self", "url": self._self_url(call, paged)}]
        if resume is not None and page.source is not None:
            cursor = PageCursor(page.source, resume, want, call.resource_type, call.resource_id, terms)
            token = self.cursors.seal(cursor, context.binding())
            links.append({"relation": "next", "url": f"{self.urls.public_base}?{urlencode({'_getpages': token})}"})
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": first.get("type", "searchset"), "link": links}
        if entries:
            bundle["entry"] = entries
        return self.urls.bundle(bundle)

    async def _seen_views(
        self, context: RequestContext, resources: list[dict[str, Any] | None], interaction: Interaction
    ) -> list[dict[str, Any] | None]:
        """What the caller sees of each of the store's current `resources` (None: nothing), each
        with the version it sees (`gateway.proxy.history.as_seen`)."""
        decided = await _decided(context, resources, interaction)
        seen = [
            as_seen(context, self.store, resource, view, hidden, interaction)
            for resource, (view, hidden) in zip(resources, decided, strict=True)
            if resource is not None and view is not None
        ]
        named = iter(await asyncio.gather(*seen))
        return [next(named) if resource is not None and view is not None else None
                for resource, (view, _) in zip(resources, decided, strict=True)]  # fmt: skip

    def _self_url(self, call: FhirCall, paged: bool) -> str:
        """The URL of this page on the gateway: the request as made, or the follow-up page's link."""
        path = "" if paged else _path(call)
        url = f"{self.urls.public_base}/{path}" if path else self.urls.public_base
        return f"{url}?{urlencode(call.params)}" if call.params else url

    async def _get(self, path: str, params: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> UpstreamResponse:
        return await self.store.send("GET", path, params=params, headers={"Accept": FHIR_JSON})


def passthrough(answer: UpstreamResponse, patients: tuple[str, ...] = ()) -> Served:
    """A 4xx of the store, passed on as a sanitized OperationOutcome."""
    try:
        body = answer.json()
    except UpstreamFailure:
        body = {}
    return Served(answer.status, sanitize_outcome(body if isinstance(body, dict) else {}), {}, patients)


async def _views(
    context: RequestContext, resources: list[dict[str, Any] | None], interaction: Interaction
) -> list[dict[str, Any] | None]:
    """What the caller sees of each of `resources` (None: nothing), decided together."""
    return [view for view, _ in await _decided(context, resources, interaction)]


async def _decided(
    context: RequestContext, resources: list[dict[str, Any] | None], interaction: Interaction
) -> list[tuple[dict[str, Any] | None, frozenset[Label]]]:
    """For each of `resources`, decided together: what the caller sees of it (None: nothing)
    and the labels hidden from the caller there."""
    decider = await context.decider([r for r in resources if r is not None], interaction)
    decided: list[tuple[dict[str, Any] | None, frozenset[Label]]] = []
    for resource in resources:
        hidden = decider.hidden_for(resource) if resource is not None else Withheld(frozenset())
        if resource is None or isinstance(hidden, Withheld):
            decided.append((None, frozenset()))
            continue
        view = redact(resource, hidden)
        decided.append((None if isinstance(view, Withheld) else view, hidden))
    return decided


def _resource(answer: UpstreamResponse, call: FhirCall, path: str) -> dict[str, Any]:
    """The resource the store answered at `path`; 404 naming `path` (in the gateway's own
    words, as for a hidden one) if it has none."""
    if answer.status in (404, 410):
        raise NotFound(unknown(path))
    body = _body(answer)
    if body.get("resourceType") != call.resource_type:
        raise UpstreamFailure("the FHIR store answered with a resource of another type")
    return body


def _bundle(answer: UpstreamResponse) -> dict[str, Any]:
    body = _body(answer)
    if body.get("resourceType") != "Bundle":
        raise UpstreamFailure("the FHIR store answered a search with something that is not a Bundle")
    return body


def _body(answer: UpstreamResponse) -> dict[str, Any]:
    if answer.status != 200:
        raise _Refused(answer)
    body = answer.json()
    if not isinstance(body, dict):
        raise UpstreamFailure("the FHIR store answered with something that is not a resource")
    return body


class _Refused(Exception):
    """The store refused the read (a 4xx other than 404/410); passed on by `ReadPath.serve`."""

    def __init__(self, answer: UpstreamResponse) -> None:
        self.answer = answer


def _version_number(current: Mapping[str, Any]) -> int:
    """The store's version number of `current` (the store numbers a resource's versions 1, 2, …)."""
    meta = current.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    if not isinstance(version, str) or not version.isdigit():
        raise UpstreamFailure("the FHIR store answered a resource without a version number")
    return int(version)


def _count_of(call: FhirCall) -> int:
    """The page size asked for (the last `_count`), at most `MAX_PAGE`; 400 if not a number."""
    given = [value for name, value in call.params if name == "_count"]
    if not given:
        return DEFAULT_PAGE
    if not given[-1].isdigit():
        raise BadRequest(f"_count must be a whole number, not {given[-1][:20]!r}")
    return max(1, min(int(given[-1]), MAX_PAGE))


def _path(call: FhirCall) -> str:
    path = "/".join(p for p in (call.resource_type, call.resource_id) if p)
    if call.version_id:
        return f"{path}/_history/{call.version_id}"
    if call.interaction is Interaction.HISTORY:
        return f"{path}/_history"
    return path
