"""What a write changes, and the server-side merge that keeps hidden parts intact; pure.

A caller sees a resource redacted (`gateway.proxy.redaction`): without the labelled parts
(`gateway.fhir.labels.LABELLED_PARTS`: a CarePlan's activities, goal, addresses and contributor
references, a CareTeam's participants) whose labels are hidden from it. When it writes the
resource back, those parts are missing from its body, and must not be erased. `merge_update(current,
proposed, hidden)` therefore re-inserts every part of `current` hidden from the caller at its
old position, and describes the write for the decision (`WriteEffect`):

- `owning_sectors`: the owner of every owned part added, removed or changed (a changed part
  is one removed and one added; parts compare by their whole JSON, so a reordering is no
  change and a changed owner counts both owners). Owned parts (`activity-owning-sector`) are
  a CarePlan's activities (always: one without an owner is nobody's), a CareTeam's
  participants that name an owner (a sector's own team members), and a Goal or Condition as a
  whole when it names an owner (a sector's own goals and problems: then its elements count
  only as the owner's, unless the write adds or removes the owner);
- `changed_elements`: the other top-level elements whose value differs (the labelled parts
  other than activities — `goal`, `addresses`, `contributor`, a team's `participant` not
  owned — compare as multisets of entries, so a reordering is no change; a participant in the
  role of personal worker counts as `participant` even when owned, since who the personal
  worker is is no sector's own; `meta` counts only when its profile, security labels or tags
  change; `id` and the store's `meta.versionId`, `lastUpdated` and `source` never count);
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
from gateway.access.labels import claims_owner, owner_of, part_labels, resource_labels
from gateway.access.seam import UnknownSector
from gateway.fhir.codes import PERSONAL_WORKER, Sector
from gateway.fhir.labels import Label, R
from gateway.fhir.systems import TEAM_ROLE_SYSTEM
from gateway.proxy.parts import canonical, entries, is_hidden, labelled_elements

__all__ = ["describe_create", "describe_delete", "merge_update"]

_ACTIVITY = "activity"
"""A CarePlan's activities count by owning sector, never as an element."""
_PARTICIPANT = "participant"
"""A CareTeam's participants count by owning sector when they name one."""
_OWNED_WHOLE = frozenset({"Goal", "Condition"})
"""Resource types owned as a whole when they name an owning sector."""
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
        for part in removed + added:
            owned, as_element = _claim(element, part)
            if owned:
                owners.append(_owner(part))
            if as_element:
                changed.add(element)
        merged_parts = list(after)
        for index, part in kept:
            merged_parts.insert(min(index, len(merged_parts)), copy.deepcopy(part))
        if merged_parts:
            merged[element] = merged_parts
        else:
            merged.pop(element, None)
    whole = _whole_owners(current, proposed)
    if whole and all(claims_owner(side) for side in (current, proposed)):
        changed.clear()
    return WriteEffect(merged, tuple(owners + whole), frozenset(changed), frozenset(labels))


def describe_create(proposed: Mapping[str, Any]) -> WriteEffect:
    """A create of `proposed`: every element and activity is new."""
    return _whole(proposed, copy.deepcopy(dict(proposed)))


def describe_delete(current: Mapping[str, Any]) -> WriteEffect:
    """A delete of `current`: every element and activity goes."""
    return _whole(current, None)


def _whole(resource: Mapping[str, Any], stored: dict[str, Any] | None) -> WriteEffect:
    elements = labelled_elements(resource)
    owners: list[Sector | UnknownSector] = []
    changed = set(resource) - _NEVER_CHANGED - set(elements)
    labels = set(resource_labels(resource))
    for element in elements:
        for part in entries(resource.get(element)):
            labels.update(_labels(part))
            owned, as_element = _claim(element, part)
            if owned:
                owners.append(_owner(part))
            if as_element:
                changed.add(element)
    if "meta" in changed and not any(_meta_content(resource.get("meta"))):
        changed.discard("meta")
    whole = _whole_owners(resource, resource)
    if whole:
        changed.clear()
    return WriteEffect(stored, tuple(owners + whole), frozenset(changed), frozenset(labels))


def _claim(element: str, part: object) -> tuple[bool, bool]:
    """Whether a changed entry of `element` counts by its owner, and whether as the element."""
    if element == _ACTIVITY:
        return True, False
    if element != _PARTICIPANT or not isinstance(part, Mapping) or not claims_owner(part):
        return False, True
    return True, _is_personal_worker(part)


def _is_personal_worker(participant: Mapping[str, Any]) -> bool:
    """True if a participant holds (or may hold: malformed roles) the role of personal worker."""
    roles = participant.get("role", [])
    if not isinstance(roles, list):
        return True
    for role in roles:
        codings = role.get("coding", []) if isinstance(role, Mapping) else None
        if not isinstance(codings, list):
            return True
        for coding in codings:
            if not isinstance(coding, Mapping) or (
                coding.get("system") == TEAM_ROLE_SYSTEM and coding.get("code") == PERSONAL_WORKER
            ):
                return True
    return False


def _whole_owners(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> list[Sector | UnknownSector]:
    """The owners of a resource owned as a whole, before and after (none if neither names one)."""
    if proposed.get("resourceType") not in _OWNED_WHOLE and current.get("resourceType") not in _OWNED_WHOLE:
        return []
    return list(dict.fromkeys(owner_of(side) for side in (current, proposed) if claims_owner(side)))


def _labels(part: object) -> frozenset[Label]:
    """A part's labels; a malformed part (not an object) is unreadable, so reads as `R`."""
    return part_labels(part) if isinstance(part, Mapping) else frozenset({R})


def _owner(part: object) -> Sector | UnknownSector:
    return owner_of(part) if isinstance(part, Mapping) else UnknownSector()


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
