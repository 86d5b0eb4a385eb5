"""Sensitivity labels: the four a decision can hide, and how a coding reads as one of them.

`label_of(system, code)` normalises a coding (fail closed: a hidden part is never shown
because it was spelt oddly):
- v3-ActCode PSY, ETH and SOC are the labels `PSY`, `ETH`, `SOC`; other v3-ActCode codes are
  no label of ours (None);
- SOC is one label whether spelt `https://yhteys.fi/fhir/CodeSystem/sensitivity#SOC` (ours,
  since R4's v3-ActCode lacks it) or `v3-ActCode#SOC` (HL7's later code); any other code of
  our sensitivity system reads as `R`;
- v3-Confidentiality `U`, `L`, `M`, `N` are no restriction (None); `R`, `V` and any unknown
  code read as `R`;
- a coding of any other system is not a sensitivity label (None).

`PROTECTION_ORDER` is HL7 Finland's security label for a protection order (turvakielto).

`LABELLED_PARTS` names, per resource type, the elements whose entries may carry their own
labels (extension `plan-security-label`): the one definition redaction and the write merge use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.fhir.systems import ACT_CODE_SYSTEM, CONFIDENTIALITY_SYSTEM, FI_SECURITY_LABEL_SYSTEM, SENSITIVITY_SYSTEM

__all__ = [
    "ETH",
    "LABELLED_PARTS",
    "LABELS",
    "NOT_RESTRICTED",
    "PROTECTION_ORDER",
    "PSY",
    "R",
    "SOC",
    "Label",
    "label_of",
]


@dataclass(frozen=True)
class Label:
    """A sensitivity label in its canonical spelling."""

    system: str
    code: str


PSY = Label(ACT_CODE_SYSTEM, "PSY")
"""Psychiatric information."""
ETH = Label(ACT_CODE_SYSTEM, "ETH")
"""Substance use information."""
R = Label(CONFIDENTIALITY_SYSTEM, "R")
"""Restricted (and anything unreadable)."""
SOC = Label(SENSITIVITY_SYSTEM, "SOC")
"""Social welfare client information; its canonical system is ours."""

LABELS: Mapping[str, Label] = {"PSY": PSY, "ETH": ETH, "SOC": SOC, "R": R}
"""The labels by code, as the policy file and the command line write them."""

NOT_RESTRICTED = frozenset({"U", "L", "M", "N"})
"""The v3-Confidentiality codes that restrict nothing."""

PROTECTION_ORDER = (FI_SECURITY_LABEL_SYSTEM, "TURVAKIELTO")
"""(system, code) of a protection order: the client's address is never released."""

LABELLED_PARTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "CarePlan": ("activity", "goal", "addresses", "contributor"),
        "CareTeam": ("participant",),
    }
)
"""Resource type → its top-level elements whose entries are labelled parts: each entry may
carry the extension `plan-security-label` (profiles SharedCarePlan and SupportTeam) and is
removed whole from a caller who may not see one of its labels; a type not named has none."""

_ACT_CODE_LABELS = {"PSY": PSY, "ETH": ETH, "SOC": SOC}


def label_of(system: str, code: str) -> Label | None:
    """The canonical label a coding stands for, or None if it is not one of ours; see the module doc."""
    if system == ACT_CODE_SYSTEM:
        return _ACT_CODE_LABELS.get(code)
    if system == CONFIDENTIALITY_SYSTEM:
        return None if code in NOT_RESTRICTED else R
    if system == SENSITIVITY_SYSTEM:
        return SOC if code == "SOC" else R
    return None
