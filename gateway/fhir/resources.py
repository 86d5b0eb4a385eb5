"""Which resource types Yhteys profiles and serves, and whose client each belongs to.

- `PROFILES`: each resource type that carries a Yhteys profile, and that profile's canonical
  URL. The FHIR store requires every stored resource of these types to declare and meet it
  (our HAPI assembly reads the same list from the built package; a test proves that
  profiles/ defines exactly these).
- `SERVED_TYPES`: the resource types the gateway lets through on its FHIR path.
- `DIRECTORY_TYPES`: types whose resources belong to no client (directory and conformance).
- `CLIENT_ELEMENT`: for a clinical type, the element naming its client (`Patient` is its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.fhir.systems import CANONICAL_BASE

__all__ = ["CLIENT_ELEMENT", "DIRECTORY_TYPES", "PROFILED_TYPES", "PROFILES", "SERVED_TYPES"]

_PROFILE = f"{CANONICAL_BASE}/StructureDefinition/"

PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "CarePlan": _PROFILE + "SharedCarePlan",
        "CareTeam": _PROFILE + "SupportTeam",
        "Goal": _PROFILE + "ClientGoal",
        "Consent": _PROFILE + "PlanConsent",
        "Patient": _PROFILE + "FiClient",
        "Practitioner": _PROFILE + "FiProfessional",
        "PractitionerRole": _PROFILE + "FiProfessionalRole",
        "Organization": _PROFILE + "SectorOrganization",
        "DocumentReference": _PROFILE + "PlanDocumentReference",
    }
)
"""Resource type → the Yhteys profile every stored resource of that type must meet."""

PROFILED_TYPES = frozenset(PROFILES)

SERVED_TYPES = (PROFILED_TYPES - {"DocumentReference"}) | {"Condition"}
"""The types of the gateway's FHIR path: the profiled ones, and the needs a plan addresses. A
plan document's index entry (DocumentReference) is written and read only by the document
operations (`gateway.proxy.documents`), never by REST."""

DIRECTORY_TYPES = frozenset(
    {"Organization", "Practitioner", "PractitionerRole", "StructureDefinition", "ValueSet", "CodeSystem"}
)
"""Resource types that belong to no client."""

CLIENT_ELEMENT: Mapping[str, str] = MappingProxyType(
    {
        "CarePlan": "subject",
        "CareTeam": "subject",
        "Goal": "subject",
        "Condition": "subject",
        "Consent": "patient",
        "DocumentReference": "subject",
    }
)
"""Clinical type → the element whose reference names the client."""
