"""Reading sensitivity labels and activity owners from FHIR JSON (dicts); pure functions.

Labels come from a resource's `meta.security` and from the extension `plan-security-label`
on a labelled part (`gateway.fhir.labels.LABELLED_PARTS`: a CarePlan's activities, its
references to goals, addressed needs and contributors, a CareTeam's participants); both are normalised by
`gateway.fhir.labels.label_of` to the four labels of ValueSet/sensitivity-label (`PSY`,
`ETH`, `SOC`, `R`).

Fail-closed choices (a hidden part is never shown because it was spelt oddly), beside those
of `gateway.fhir.labels.label_of`:
- In `meta.security`, codings of other systems (e.g. TURVAKIELTO, obligations) and other
  v3-ActCode codes are not sensitivity labels of ours and are ignored here; the protection
  order (`has_protection_order`) is enforced by `gateway.proxy.redaction`.
- The part extension carries nothing but sensitivity labels, so there an unreadable or
  unknown coding reads as `R`; so does a malformed `meta` / `meta.security` / coding.
- The owner of an owned part (a plan activity, a team member, a goal or a condition: see
  `gateway.proxy.merge`) is the one sector coded in its `activity-owning-sector`; none,
  several, or a code outside the sector CodeSystem give `UnknownSector`, which no writer owns.
  `claims_owner` says whether an element names an owner at all (rightly or not).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.access.seam import UnknownSector
from gateway.fhir.codes import Sector
from gateway.fhir.labels import NOT_RESTRICTED, PROTECTION_ORDER, Label, R, label_of
from gateway.fhir.systems import CONFIDENTIALITY_SYSTEM, OWNING_SECTOR, PLAN_SECURITY_LABEL, SECTOR_SYSTEM

__all__ = ["claims_owner", "has_protection_order", "owner_of", "part_labels", "resource_labels"]

_SECTORS = frozenset(sector.value for sector in Sector)


def resource_labels(resource: Mapping[str, object]) -> frozenset[Label]:
    """The labels in `resource["meta"]["security"]`; malformed entries read as `R`."""
    meta = resource.get("meta")
    if meta is None:
        return frozenset()
    if not isinstance(meta, Mapping):
        return frozenset({R})
    security = meta.get("security")
    if security is None:
        return frozenset()
    if not isinstance(security, list):
        return frozenset({R})
    found: set[Label] = set()
    for coding in security:
        system, code = _coding(coding)
        label = R if not system or not code else label_of(system, code)
        if label is not None:
            found.add(label)
    return frozenset(found)


def has_protection_order(resource: Mapping[str, object]) -> bool:
    """True if `meta.security` carries TURVAKIELTO (or is malformed: read as carrying it)."""
    meta = resource.get("meta")
    if meta is None:
        return False
    security = meta.get("security") if isinstance(meta, Mapping) else None
    if not isinstance(meta, Mapping) or not isinstance(security, (list, type(None))):
        return True
    return any(not isinstance(coding, Mapping) or _coding(coding) == PROTECTION_ORDER for coding in security or [])


def part_labels(part: Mapping[str, object]) -> frozenset[Label]:
    """The labels of one labelled part (an entry of an element in `LABELLED_PARTS`) from the
    `plan-security-label` extension; anything but a known coding reads as `R`."""
    found: set[Label] = set()
    for value in _extension_values(part, PLAN_SECURITY_LABEL):
        system, code = _coding(value)
        if system == CONFIDENTIALITY_SYSTEM and code in NOT_RESTRICTED:
            continue
        label = label_of(system, code) if system and code else None
        found.add(label if label is not None else R)
    return frozenset(found)


def owner_of(element: Mapping[str, object]) -> Sector | UnknownSector:
    """The sector owning one owned part (or resource), or `UnknownSector` (no writer owns it)."""
    values = _extension_values(element, OWNING_SECTOR)
    if len(values) != 1:
        return UnknownSector()
    system, code = _coding(values[0])
    if system != SECTOR_SYSTEM or code not in _SECTORS:
        return UnknownSector(code)
    return Sector(code)


def claims_owner(element: Mapping[str, object]) -> bool:
    """True if `element` carries an `activity-owning-sector` extension (or unreadable extensions)."""
    return bool(_extension_values(element, OWNING_SECTOR))


def _extension_values(element: Mapping[str, object], url: str) -> list[object]:
    """The `valueCoding` of every extension with `url`; a malformed one counts, as None."""
    extensions = element.get("extension")
    if not isinstance(extensions, list):
        return [] if extensions is None else [None]
    values: list[object] = []
    for extension in extensions:
        if not isinstance(extension, Mapping):
            values.append(None)
        elif extension.get("url") == url:
            values.append(extension.get("valueCoding"))
    return values


def _coding(value: object) -> tuple[str, str]:
    """(system, code) of a Coding, with "" for anything missing or not a string."""
    if not isinstance(value, Mapping):
        return "", ""
    system, code = value.get("system"), value.get("code")
    return (system if isinstance(system, str) else "", code if isinstance(code, str) else "")
