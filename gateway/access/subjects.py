"""Whose data a resource is; a pure function on JSON.

`patient_of(resource)` names the client ("Patient/<id>") a resource belongs to, so that the
decision for it can use that client's consent:
- Patient: itself; CarePlan, CareTeam, Goal, Condition: `subject`; Consent: `patient`;
- directory resources (Organization, Practitioner, PractitionerRole) and conformance
  resources belong to no client: `NoClient`;
- anything else, or a client reference that is missing, absolute, versioned or malformed,
  gives `UnknownPatient` — which the consent decider denies (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.access.seam import UnknownPatient
from gateway.fhir.ids import PATIENT_REFERENCE
from gateway.fhir.resources import CLIENT_ELEMENT, DIRECTORY_TYPES

__all__ = ["NoClient", "patient_of"]


@dataclass(frozen=True)
class NoClient:
    """The resource is directory or conformance data: no client's consent applies."""


def patient_of(resource: Mapping[str, Any]) -> str | UnknownPatient | NoClient:
    """The client `resource` belongs to; see the module doc."""
    rtype = resource.get("resourceType")
    if rtype in DIRECTORY_TYPES:
        return NoClient()
    if rtype == "Patient":
        rid = resource.get("id")
        reference = f"Patient/{rid}" if isinstance(rid, str) else ""
    elif isinstance(rtype, str) and rtype in CLIENT_ELEMENT:
        element = resource.get(CLIENT_ELEMENT[rtype])
        value = element.get("reference") if isinstance(element, Mapping) else None
        reference = value if isinstance(value, str) else ""
    else:
        return UnknownPatient(f"{rtype!r} resources are not mapped to a client")
    if PATIENT_REFERENCE.fullmatch(reference):
        return reference
    return UnknownPatient(f"the {rtype} does not name its client as Patient/<id>")
