"""Reading sensitivity labels and activity owners from FHIR JSON (dicts); pure functions.

Labels come from a resource's `meta.security` and from the extension `plan-security-label`
on a CarePlan's activities and on its references to goals and addressed needs; both are normalised by `label_of` to the four labels of
ValueSet/sensitivity-label (`PSY`, `ETH`, `SOC`, `R`, see `gateway.access`).

Fail-closed choices (a hidden part is never shown because it was spelt oddly):
- SOC is one label whether spelt `https://yhteys.fi/fhir/CodeSystem/sensitivity#SOC` (ours)
  or `v3-ActCode#SOC` (HL7's later code).
- v3-Confidentiality `R` and `V` read as `R`; `U`, `L`, `M`, `N` are no restriction; any other
  code of that system (or of our sensitivity system) is unknown and reads as `R`.
- In `meta.security`, codings of other systems (e.g. TURVAKIELTO, obligations) and other
  v3-ActCode codes are not sensitivity labels of ours and are ignored here; the protection
  order (`has_protection_order`) is enforced by `gateway.redaction`.
- The plan-part extension carries nothing but sensitivity labels, so there an unreadable or
  unknown coding reads as `R`; so does a malformed `meta` / `meta.security` / coding.
- An activity's owner is the one sector coded in `activity-owning-sector`; none, several,
  or a code outside the sector CodeSystem give `UnknownSector`, which no writer owns.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth.registry import Sector
from gateway.access import ETH, PSY, SOC, R, Label, UnknownSector

__all__ = [
    "PROTECTION_ORDER",
    "PLAN_SECURITY_LABEL",
    "OWNING_SECTOR",
    "SECTOR_SYSTEM",
    "part_labels",
    "activity_owner",
    "has_protection_order",
    "label_of",
    "resource_labels",
]

PLAN_SECURITY_LABEL = "https://yhteys.fi/fhir/StructureDefinition/plan-security-label"
OWNING_SECTOR = "https://yhteys.fi/fhir/StructureDefinition/activity-owning-sector"
SECTOR_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/sector"
PROTECTION_ORDER = ("https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs", "TURVAKIELTO")
"""HL7 Finland's security label for a protection order (turvakielto): the address is never released."""

_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_SENSITIVITY = SOC.system
_ACT_CODE_LABELS = {"PSY": PSY, "ETH": ETH, "SOC": SOC}
_NOT_RESTRICTED = frozenset({"U", "L", "M", "N"})
_SECTORS = frozenset(sector.value for sector in Sector)


def label_of(system: str, code: str) -> Label | None:
    """The canonical label a coding stands for, or None if it is not one of our labels.

    None means "not a sensitivity label of ours" (ignored in meta.security); unknown codes of
    the confidentiality or Yhteys sensitivity systems give `R` (fail closed).
    """
    if system == _ACT_CODE:
        return _ACT_CODE_LABELS.get(code)
    if system == _CONFIDENTIALITY:
        return None if code in _NOT_RESTRICTED else R
    if system == _SENSITIVITY:
        return SOC if code == "SOC" else R
    return None


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
    """The labels of one plan part (an activity, or a goal / addresses reference) from the
    `plan-security-label` extension; anything but a known coding reads as `R`."""
    found: set[Label] = set()
    for value in _extension_values(part, PLAN_SECURITY_LABEL):
        system, code = _coding(value)
        if system == _CONFIDENTIALITY and code in _NOT_RESTRICTED:
            continue
        label = label_of(system, code) if system and code else None
        found.add(label if label is not None else R)
    return frozenset(found)


def activity_owner(activity: Mapping[str, object]) -> Sector | UnknownSector:
    """The sector owning one CarePlan activity, or `UnknownSector` (no writer owns it)."""
    values = _extension_values(activity, OWNING_SECTOR)
    if len(values) != 1:
        return UnknownSector()
    system, code = _coding(values[0])
    if system != SECTOR_SYSTEM or code not in _SECTORS:
        return UnknownSector(code)
    return Sector(code)


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
