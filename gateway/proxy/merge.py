"""What a write changes, and the server-side merge that keeps hidden parts intact; pure.

A caller sees a resource redacted (`gateway.proxy.redaction`): without the labelled parts
(`gateway.fhir.labels.LABELLED_PARTS`: a CarePlan's activities, goal, addresses and contributor
references, a CareTeam's participants) whose labels are hidden from it. When it writes the
resource back, those parts are missing from its body, and must not be erased. `merge_update(current,
proposed, hidden)` therefore re-inserts every part of `current` hidden from the caller at its
old position, and describes the write for the decision (`WriteEffect`):

- `owning_sectors`: the owner of every activity added, removed or changed (a changed activity
  is one removed and one added; activities compare by their whole JSON, so a reordering is no
  change and a changed owner counts both owners);
- `changed_elements`: the other top-level elements whose value differs (the labelled parts
  other than activities — `goal`, `addresses`, `contributor`, a team's `participant` — compare
  as multisets of entries, so a reordering is no change; `meta` counts only when its profile,
  security labels or tags change; `id` and the store's `meta.versionId`, `lastUpdated` and
  `source` never count);
- `labels`: the labels of the resource (before and after) and of every part added, removed or
  changed; a part the caller sends with a label hidden from it counts too, so the decision
  refuses a write that would touch what the caller may not see.

`describe_create(proposed)` and `describe_delete(current)` describe a write of the whole
resource in the same terms. The input is never modified.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from typing import Any

from gateway.access.decider import WriteEffect
from gateway.access.labels import activity_owner, part_labels, resource_labels
from gateway.access.seam import UnknownSector
from gateway.fhir.codes import Sector
from gateway.fhir.labels import Label, R
from gateway.proxy.parts import canonical, entries, is_hidden, labelled_elements

__all__ = ["describe_create", "describe_delete", "merge_update"]

_ACTIVITY = "activity"
"""The labelled part that has an owner: a CarePlan's activities count by owning sector, not as an element."""
_NEVER_CHANGED = frozenset({"resourceType", "id"})
_META_CONTENT = ("profile", "security", "tag")


def merge_update(current: Mapping[str, Any], proposed: Mapping[str, Any], hidden: frozenset[Label]) -> WriteEffect:
    """`proposed` with the parts of `current` hidden from the caller put back; see the module doc."""
    merged = copy.deepcopy(dict(proposed))
    owners: list[Sector | UnknownSector] = []
    labels = set(resource_labels(current) | resource_labels(proposed))
    elements = labelled_elements(current)
    changed = {
        name
        for name in (set(current) | set(proposed)) - _NEVER_CHANGED - {"meta"} - set(elements)
        if current.get(name) != proposed.get(name)
    }
    if _meta_content(current.get("meta")) != _meta_content(proposed.get("meta")):
        changed.add("meta")
    for element in elements:
        before, after = entries(current.get(element)), entries(merged.get(element))
        kept = [(index, part) for index, part in enumerate(before) if is_hidden(part, hidden)]
        seen = [part for part in before if not is_hidden(part, hidden)]
        removed, added = _difference(seen, after), _difference(after, seen)
        touched = removed + added + [part for part in after if is_hidden(part, hidden)]
        labels.update(label for part in touched for label in _labels(part))
        if element == _ACTIVITY:
            owners.extend(_owner(part) for part in removed + added)
        elif removed or added:
            changed.add(element)
        merged_parts = list(after)
        for index, part in kept:
            merged_parts.insert(min(index, len(merged_parts)), copy.deepcopy(part))
        if merged_parts:
            merged[element] = merged_parts
        else:
            merged.pop(element, None)
    return WriteEffect(merged, tuple(owners), frozenset(changed), frozenset(labels))


def describe_create(proposed: Mapping[str, Any]) -> WriteEffect:
    """A create of `proposed`: every element and activity is new."""
    return _whole(proposed, copy.deepcopy(dict(proposed)))


def describe_delete(current: Mapping[str, Any]) -> WriteEffect:
    """A delete of `current`: every element and activity goes."""
    return _whole(current, None)


def _whole(resource: Mapping[str, Any], stored: dict[str, Any] | None) -> WriteEffect:
    elements = labelled_elements(resource)
    activities = entries(resource.get(_ACTIVITY)) if _ACTIVITY in elements else []
    parts = [part for element in elements for part in entries(resource.get(element))]
    labels = set(resource_labels(resource)).union(*(_labels(part) for part in parts))
    changed = set(resource) - _NEVER_CHANGED - ({_ACTIVITY} & set(elements))
    if "meta" in changed and not any(_meta_content(resource.get("meta"))):
        changed.discard("meta")
    return WriteEffect(stored, tuple(_owner(part) for part in activities), frozenset(changed), frozenset(labels))


def _labels(part: object) -> frozenset[Label]:
    """A part's labels; a malformed part (not an object) is unreadable, so reads as `R`."""
    return part_labels(part) if isinstance(part, Mapping) else frozenset({R})


def _owner(part: object) -> Sector | UnknownSector:
    return activity_owner(part) if isinstance(part, Mapping) else UnknownSector()


def _difference(left: list[object], right: list[object]) -> list[object]:
    """The entries of `left` not matched one-for-one by equal entries of `right`."""
    remaining = Counter(canonical(part) for part in right)
    result = []
    for part in left:
        key = canonical(part)
        if remaining[key]:
            remaining[key] -= 1
        else:
            result.append(part)
    return result


def _meta_content(meta: object) -> tuple[str, ...]:
    """The caller-meaningful content of `meta` (profile, security, tag), comparable."""
    if not isinstance(meta, Mapping):
        return ("", "", "") if meta is None else ("malformed", "", "")
    return tuple(canonical(_sorted(meta.get(name))) if meta.get(name) else "" for name in _META_CONTENT)


def _sorted(values: object) -> object:
    if isinstance(values, list):
        return sorted(canonical(value) for value in values)
    return values
