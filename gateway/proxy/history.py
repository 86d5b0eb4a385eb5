"""A resource's versions as the caller sees them: one version per change it can see.

An edit only to parts hidden from a caller makes a new version in the store, with a new
version id, `lastUpdated` and `source`, on content the caller sees unchanged: shown as the
store numbers it, the version would tell the caller that something it may not see was edited,
and when. So the versions of a resource with labelled parts (`NAMED_TYPES`: a CarePlan, a
CareTeam) are shown as the caller sees them, never as the store numbers them:
- a version's id (`meta.versionId`, the ETag, the `_history/<id>` of a Location or of a
  history entry's request) is the content name of the caller's view of it
  (`gateway.proxy.versions.content_name`): it names what the caller sees and nothing else,
  so a hidden edit leaves it as it was, and the same content always has the same name;
- the history (`SeenHistory`) holds one entry per change the caller can see: a version is
  shown only if the caller's view of it differs from its view of the version before (or there
  is none before, or that one is a deletion or withheld from it). The entry shown is the
  oldest of the versions with that content, so its `meta.lastUpdated` and `source` say when
  and by whom that content came to be;
- the current version (a read, a search match, a write's answer: `as_seen`) is shown as the
  first entry of that history, so its `lastUpdated` (and Last-Modified) is the time of the last
  change the caller can see. When nothing of the client's data is hidden from the caller,
  every store version is a change it sees, and the history is not read;
- a vread names a version by its content name (`SeenHistory.find`: the newest version with
  that content); a store number is, for such a type, a version the caller was never shown;
- If-Match on a write names the content name of the caller's view of the current version
  (`gateway.proxy.writes`): an edit to hidden parts since the caller's read leaves it valid
  (the write is merged with the hidden parts as they are now), a change the caller can see
  makes it stale. The store's own version guards the write sent, so a write that races with
  another still fails.
Resources of other types are seen whole or not at all: their versions are the store's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from gateway.access.seam import Withheld
from gateway.fhir.codes import Interaction
from gateway.fhir.labels import Label
from gateway.proxy.context import RequestContext
from gateway.proxy.pages import gather, read_on
from gateway.proxy.redaction import redact
from gateway.proxy.versions import NAMED_TYPES, content_name, named, redact_version
from gateway.store.client import Upstream
from gateway.store.search import PAGE_SIZE

__all__ = ["SeenHistory", "as_seen", "seen_entry", "seen_headers", "seen_response", "version_views"]

_FIRST_PAGE = 10
"""Versions read at once to find the current content's first version: most runs are short."""


async def version_views(
    context: RequestContext,
    versions: Sequence[Mapping[str, Any] | None],
    current: Mapping[str, Any],
    interaction: Interaction,
) -> list[dict[str, Any] | None]:
    """What the caller sees of each of `versions` of `current` (None: nothing, or a deletion):
    the current version as a read shows it, an earlier one redacted by its own labels and by
    those of the current version (`gateway.proxy.versions.redact_version`)."""
    decider = await context.decider([current, *(v for v in versions if v is not None)], interaction)
    now = decider.hidden_for(current)
    views: list[dict[str, Any] | None] = []
    for version in versions:
        hidden = decider.hidden_for(version) if version is not None else now
        if version is None or isinstance(hidden, Withheld) or isinstance(now, Withheld):
            views.append(None)
            continue
        if _version_of(version) == _version_of(current):
            view = redact(version, now)
        else:
            view = redact_version(version, current, hidden | now)
        views.append(None if isinstance(view, Withheld) else view)
    return views


@dataclass(frozen=True)
class SeenHistory:
    """The instance history of `current` as `context`'s caller sees it; as a
    `gateway.proxy.pages.Shown` it gives the views of one page of the store's history."""

    store: Upstream
    context: RequestContext
    current: Mapping[str, Any]
    interaction: Interaction

    @property
    def path(self) -> str:
        """The store path of the history."""
        return f"{self.current.get('resourceType')}/{self.current.get('id')}/_history"

    async def __call__(
        self, versions: list[dict[str, Any] | None], offset: int, more: bool
    ) -> list[dict[str, Any] | None]:
        views = await version_views(self.context, versions, self.current, self.interaction)
        if self.current.get("resourceType") not in NAMED_TYPES:
            return views
        before = views[1:] + [await self._view_at(offset + len(versions)) if more else None]
        return [
            named(view) if view is not None and (older is None or content_name(older) != content_name(view)) else None
            for view, older in zip(views, before, strict=True)
        ]

    async def first(self) -> dict[str, Any] | None:
        """The newest version shown (the current content, dated when it came to be), or None."""
        page = await gather(self.store, await read_on(self.store, self.path, 0, _FIRST_PAGE), 0, 1, self, self.path)
        return page.matches[0][1] if page.matches else None

    async def find(self, name: str) -> dict[str, Any] | None:
        """The newest version shown whose content name is `name`, or None."""
        offset: int | None = 0
        while offset is not None:
            first = await read_on(self.store, self.path, offset, PAGE_SIZE)
            page = await gather(self.store, first, offset, PAGE_SIZE, self, self.path)
            for _, view in page.matches:
                if _version_of(view) == name:
                    return view
            offset = page.next_offset
        return None

    async def _view_at(self, offset: int) -> dict[str, Any] | None:
        """The caller's view of the store's version at `offset` of the history (None: none)."""
        entries = (await read_on(self.store, self.path, offset, 1)).get("entry") or []
        resource = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
        [view] = await version_views(
            self.context, [resource if isinstance(resource, dict) else None], self.current, self.interaction
        )
        return view


async def as_seen(
    context: RequestContext,
    store: Upstream,
    current: Mapping[str, Any],
    view: dict[str, Any],
    hidden: frozenset[Label],
    interaction: Interaction = Interaction.READ,
) -> dict[str, Any]:
    """`view`, the caller's view of the store's `current` version (redacted by `hidden`, the
    labels hidden from the caller in its client's data, as decided), with the version the
    caller sees (see the module doc); a view of another type is returned as it is.

    If the store's history has moved on since `current` was read, its newest version as the
    caller sees it is answered; if it has none (deleted meanwhile), `view` without the store's
    `lastUpdated` and `source`, which could date a hidden edit."""
    if view.get("resourceType") not in NAMED_TYPES:
        return view
    if not hidden:  # every store version is a change the caller sees
        return named(view)
    first = await SeenHistory(store, context, current, interaction).first()
    if first is not None:
        return first
    meta = {k: v for k, v in (view.get("meta") or {}).items() if k not in ("lastUpdated", "source")}
    return named({**view, "meta": meta})


def seen_headers(
    headers: Mapping[str, str], resource_type: str | None, view: Mapping[str, Any] | None
) -> dict[str, str]:
    """`headers` of an answer about a `resource_type` carrying `view` (None: no resource, as
    a deletion's), lower-case names, with the ETag, Last-Modified and the version in a Location
    or Content-Location that the caller sees: for a type named by content without a view,
    none (a deletion's store version would count the hidden edits)."""
    return _seen(headers, resource_type, view, _HEADERS)


def seen_response(
    response: Mapping[str, Any], resource_type: str | None, view: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A transaction-response entry's `response` (status, location, etag, lastModified) about a
    `resource_type` carrying `view`, naming the version the caller sees, as `seen_headers`."""
    shown = {key: response[key] for key in ("status", "location", "etag", "lastModified") if key in response}
    return _seen(shown, resource_type, view, _RESPONSE)


@dataclass(frozen=True)
class _Names:
    """Where an answer carries a version: its URLs, its ETag, and when it was modified (as what)."""

    urls: tuple[str, ...]
    etag: str
    modified: str
    http_date: bool


_HEADERS = _Names(("location", "content-location"), "etag", "last-modified", http_date=True)
_RESPONSE = _Names(("location",), "etag", "lastModified", http_date=False)


def _seen(
    values: Mapping[str, Any], resource_type: str | None, view: Mapping[str, Any] | None, names: _Names
) -> dict[str, Any]:
    if resource_type not in NAMED_TYPES:
        return dict(values)
    version = _version_of(view) if view is not None else None
    result = {key: value for key, value in values.items() if key not in (names.etag, names.modified)}
    for name in names.urls:
        url = result.get(name)
        if isinstance(url, str) and "/_history/" in url:
            if version is None:
                del result[name]
            else:
                result[name] = url.rsplit("/_history/", 1)[0] + f"/_history/{version}"
    updated = _updated(view) if view is not None and version is not None else None
    if version is not None:
        result[names.etag] = f'W/"{version}"'
    if updated is not None:
        result[names.modified] = format_datetime(updated[1], usegmt=True) if names.http_date else updated[0]
    return result


def seen_entry(entry: Mapping[str, Any], view: Mapping[str, Any]) -> dict[str, Any]:
    """A history or search entry of the store (without its resource) for `view`: a history
    entry's request and response name the version the caller sees."""
    shown = {key: value for key, value in entry.items() if key != "resource"}
    version = _version_of(view) if view.get("resourceType") in NAMED_TYPES else None
    if version is None:
        return shown
    request, response = shown.get("request"), shown.get("response")
    if isinstance(request, Mapping):
        url = f"{view.get('resourceType')}/{view.get('id')}/_history/{version}"
        shown["request"] = {"method": request.get("method"), "url": url}
    if isinstance(response, Mapping):
        shown["response"] = {"status": response.get("status"), "etag": f'W/"{version}"'}
    return shown


def _version_of(resource: Mapping[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    return version if isinstance(version, str) else None


def _updated(view: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """The view's `meta.lastUpdated` as given and as a time, if it is an instant."""
    meta = view.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, Mapping) else None
    try:
        return (value, datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None
