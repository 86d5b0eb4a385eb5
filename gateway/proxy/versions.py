"""Earlier versions of a resource, redacted by what is hidden in it now as well; pure.

A part labelled in the current version was as sensitive before its label was added: showing
it in an earlier version (by vread or in the history) would undo the label. So
`redact_version(version, current, hidden)` redacts `version` as `gateway.proxy.redaction`
does (its own labels), and then, for each labelled element (`LABELLED_PARTS`) of which
`current` hides a part from the caller, also removes the version's parts that may be that
part:
- a part that names what it is about — by a reference (a goal or addressed need, a
  contributor, a team participant's member, an activity's `reference`) and, for an activity,
  by its element `id` — is removed when a hidden part of the current version shares a name;
- any other part (an activity described inline, without an id), and every part when a hidden
  part of the current version names nothing, cannot be paired with certainty, so it is shown
  only if the current version shows the very same part; it is removed otherwise. (Writers
  that give activities an `id` keep their history readable.)
When `current` hides nothing of an element, that element of the version is left as its own
labels made it. The input is never modified.

For a type with labelled parts (`NAMED_TYPES`) the version a caller sees is named by what it
sees (`gateway.proxy.history`): `content_name(view)` is a digest of the view apart from the
store's bookkeeping (`meta.versionId`, `lastUpdated`, `source`), equal for equal content and
different, but for a chance of 2^-128, for different content; `named(view)` sets it as the
view's `meta.versionId`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gateway.access.seam import Withheld
from gateway.fhir.labels import LABELLED_PARTS, Label
from gateway.proxy.parts import canonical, entries, is_hidden, labelled_elements
from gateway.proxy.redaction import redact

__all__ = ["NAMED_TYPES", "content_name", "named", "redact_version"]

NAMED_TYPES = frozenset(LABELLED_PARTS)
"""The types whose versions a caller sees named by their content: those with labelled parts,
where an edit to a part hidden from the caller makes a store version it cannot tell apart."""
_STORE_META = frozenset({"versionId", "lastUpdated", "source"})
"""What the store sets in `meta` for each version, whatever changed."""

_NAMED_BY = {"activity": "reference", "participant": "member"}
"""The element of a part that names what it is about; a part not listed is a Reference itself."""


def redact_version(
    version: Mapping[str, Any], current: Mapping[str, Any], hidden: frozenset[Label]
) -> dict[str, Any] | Withheld:
    """`version` as a caller who may not see `hidden` sees it, given the `current` version."""
    view = redact(version, hidden)
    if isinstance(view, Withheld):
        return view
    for element in labelled_elements(current):
        now = entries(current.get(element))
        hidden_now = [part for part in now if is_hidden(part, hidden)]
        if not hidden_now or element not in view:
            continue
        hidden_names = [_names(element, part) for part in hidden_now]
        shown_now = {canonical(part) for part in now if part not in hidden_now}
        kept = [part for part in entries(view[element]) if not _may_be_hidden(element, part, hidden_names, shown_now)]
        if kept:
            view[element] = kept
        else:
            del view[element]
    return view


def _may_be_hidden(element: str, part: object, hidden_names: list[frozenset[str]], shown_now: set[str]) -> bool:
    """Whether `part` of an earlier version may be one of the parts the current version hides
    (each given by its names): by a name in common, or, where a side has no name, unless the
    current version shows the very same part."""
    names = _names(element, part)
    if names and all(hidden_names):
        return any(names & hidden for hidden in hidden_names)
    return canonical(part) not in shown_now


def _names(element: str, part: object) -> frozenset[str]:
    """What a part is about: the reference it names and, for an activity, its element id."""
    if not isinstance(part, Mapping):
        return frozenset()
    names = set()
    if element == "activity" and isinstance(part.get("id"), str) and part["id"]:
        names.add(f"#{part['id']}")
    named = part.get(_NAMED_BY[element]) if element in _NAMED_BY else part
    reference = named.get("reference") if isinstance(named, Mapping) else None
    if isinstance(reference, str) and reference:
        names.add(reference)
    return frozenset(names)


def content_name(view: Mapping[str, Any]) -> str:
    """The name of the version whose content is `view`: 32 hex digits of SHA-256 over it, the
    store's bookkeeping in `meta` left out."""
    content = {key: value for key, value in view.items() if key != "meta"}
    meta = view.get("meta")
    if isinstance(meta, Mapping):
        meta = {key: value for key, value in meta.items() if key not in _STORE_META}
    if meta:
        content["meta"] = meta
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()[:32]


def named(view: dict[str, Any]) -> dict[str, Any]:
    """`view` with its content name as `meta.versionId` (set in place, and returned)."""
    meta = view.get("meta")
    view["meta"] = {**(meta if isinstance(meta, Mapping) else {}), "versionId": content_name(view)}
    return view
