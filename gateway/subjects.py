"""Whose data a resource is, and who the client's personal worker is; pure functions on JSON.

`patient_of(resource)` names the client ("Patient/<id>") a resource belongs to, so that the
decision for it can use that client's consent:
- Patient: itself; CarePlan, CareTeam, Goal, Condition: `subject`; Consent: `patient`;
- directory resources (Organization, Practitioner, PractitionerRole) and conformance
  resources belong to no client: `NoClient`;
- anything else, or a client reference that is missing, absolute, versioned or malformed,
  gives `UnknownPatient` — which the consent decider denies (fail closed).

`personal_worker_of(team)` is the PractitionerRole reference of the one open personal-worker
participant of an active team (SupportTeam's invariant yht-team-1), or `None` when the team is
not active or has no such participant (or, against the profile, several).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.access import UnknownPatient

__all__ = ["DIRECTORY_TYPES", "NoClient", "patient_of", "personal_worker_of"]

DIRECTORY_TYPES = frozenset(
    {"Organization", "Practitioner", "PractitionerRole", "StructureDefinition", "ValueSet", "CodeSystem"}
)
"""Resource types that belong to no client."""

_CLIENT_ELEMENT = {"CarePlan": "subject", "CareTeam": "subject", "Goal": "subject", "Condition": "subject", "Consent": "patient"}
_PATIENT_REFERENCE = re.compile(r"Patient/[A-Za-z0-9\-.]{1,64}")
_ROLE_REFERENCE = re.compile(r"PractitionerRole/[A-Za-z0-9\-.]{1,64}")
_TEAM_ROLE = "https://yhteys.fi/fhir/CodeSystem/team-role"


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
    elif isinstance(rtype, str) and rtype in _CLIENT_ELEMENT:
        element = resource.get(_CLIENT_ELEMENT[rtype])
        value = element.get("reference") if isinstance(element, Mapping) else None
        reference = value if isinstance(value, str) else ""
    else:
        return UnknownPatient(f"{rtype!r} resources are not mapped to a client")
    if _PATIENT_REFERENCE.fullmatch(reference):
        return reference
    return UnknownPatient(f"the {rtype} does not name its client as Patient/<id>")


def personal_worker_of(team: Mapping[str, Any]) -> str | None:
    """The current personal worker's PractitionerRole reference; see the module doc."""
    if team.get("resourceType") != "CareTeam" or team.get("status") != "active":
        return None
    found = [
        _mapping(participant.get("member")).get("reference")
        for participant in _list(team.get("participant"))
        if _is_personal_worker(participant) and not _mapping(participant.get("period")).get("end")
    ]
    if len(found) != 1 or not isinstance(found[0], str) or not _ROLE_REFERENCE.fullmatch(found[0]):
        return None
    return found[0]


def _is_personal_worker(participant: Mapping[str, Any]) -> bool:
    return any(
        coding.get("system") == _TEAM_ROLE and coding.get("code") == "personal-worker"
        for role in _list(participant.get("role"))
        for coding in _list(role.get("coding"))
    )


def _list(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
