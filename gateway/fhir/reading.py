"""Reading FHIR JSON leniently, for code that must not fail on a resource it did not make.

`mapping(value)` is `value` if it is a JSON object, else an empty one; `mappings(value)` the
JSON objects of a JSON array (anything else in it, or a non-array, gives none);
`reference_of(value)` the `reference` string of a Reference object ("" if there is none).
"""

from __future__ import annotations

from typing import Any

__all__ = ["mapping", "mappings", "reference_of"]


def mapping(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def mappings(value: object) -> list[dict[str, Any]]:
    """The JSON objects in the JSON array `value` ([] if it is none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def reference_of(value: object) -> str:
    """`value.reference` of a Reference object, or ""."""
    reference = value.get("reference") if isinstance(value, dict) else None
    return reference if isinstance(reference, str) else ""
