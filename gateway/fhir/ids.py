"""FHIR ids and literal references, by the one pattern FHIR R4 gives for an id.

An id is 1–64 of `A-Z a-z 0-9 - .` (R4 `id` datatype), but never one made only of dots: `.`
and `..` are path segments every URL library resolves away (`Consent/.` becomes a search of
all consents), so the gateway accepts neither as an id, in a path or in a reference. A
literal relative reference is `<Type>/<id>`. `reference_pattern("Patient")` compiles the pattern of such a reference for
the given types; the common ones are compiled once here. Pure.
"""

from __future__ import annotations

import re
from typing import TypeGuard

__all__ = [
    "ID",
    "ID_PATTERN",
    "ORGANIZATION_REFERENCE",
    "PATIENT_REFERENCE",
    "PRACTITIONER_ROLE_REFERENCE",
    "is_id",
    "reference_pattern",
]

ID = r"(?!\.+(?![A-Za-z0-9\-.]))[A-Za-z0-9\-.]{1,64}"
"""The regular expression of a FHIR id (also of a version id), for use inside other patterns:
1–64 id characters, not all of them dots."""
ID_PATTERN = re.compile(ID)


def reference_pattern(*resource_types: str) -> re.Pattern[str]:
    """The pattern of `<Type>/<id>` for any of `resource_types`; the id is group 1."""
    if not resource_types or not all(re.fullmatch(r"[A-Z][A-Za-z]{1,63}", t) for t in resource_types):
        raise ValueError("give one or more resource type names")
    return re.compile(rf"(?:{'|'.join(resource_types)})/({ID})")


PATIENT_REFERENCE = reference_pattern("Patient")
PRACTITIONER_ROLE_REFERENCE = reference_pattern("PractitionerRole")
ORGANIZATION_REFERENCE = reference_pattern("Organization")


def is_id(value: object) -> TypeGuard[str]:
    """Whether `value` is a string that is a FHIR id."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
