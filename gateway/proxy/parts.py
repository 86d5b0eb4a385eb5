"""Labelled parts of a resource, as the merge of a write and the redaction of a version see them; pure.

`labelled_elements(resource)` names the elements of a resource whose entries are labelled parts
(`gateway.fhir.labels.LABELLED_PARTS`); `entries(value)` lists such an element's entries (a value
that is not a list is one malformed entry); `is_hidden(part, hidden)` says whether a caller who
may not see `hidden` could see the entry (a malformed entry, not an object, is never shown);
`canonical(value)` is a string equal for equal JSON values, for comparing parts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.access.labels import part_labels
from gateway.fhir.labels import LABELLED_PARTS, Label

__all__ = ["canonical", "entries", "is_hidden", "labelled_elements"]


def labelled_elements(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """The elements of `resource` whose entries are labelled parts (none for most types)."""
    return LABELLED_PARTS.get(str(resource.get("resourceType")), ())


def entries(value: object) -> list[object]:
    """The entries of a labelled-part element; a value that is not a list is one malformed entry."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def is_hidden(part: object, hidden: frozenset[Label]) -> bool:
    """True if a caller who may not see `hidden` could not see `part` (nor a malformed one)."""
    return not isinstance(part, Mapping) or bool(part_labels(part) & hidden)


def canonical(value: object) -> str:
    """`value` as sorted, compact JSON: equal strings for equal values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
