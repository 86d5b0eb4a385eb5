"""The acting professional: reading a PractitionerRole, and who a client may act for.

`FhirProfessionalDirectory` itself talks to HAPI and belongs to the e2e tests; here are the
pure parts it is built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from auth.errors import ProfessionalRefused
from auth.professionals import (
    DirectoryUnavailable,
    ProfessionalRole,
    UnknownProfessional,
    professional_from_resource,
    require_acting_professional,
)
from gateway.fhir.systems import TEAM_ROLE_SYSTEM
from tests.unit.auth.support import PSYCH_ORG, YOUTH_ORG, YOUTH_WORKER

BASE = "http://127.0.0.1:8080/fhir"


def _resource(**changes: object) -> dict[str, object]:
    resource: dict[str, object] = {
        "resourceType": "PractitionerRole",
        "id": "demo-role-youth-worker",
        "active": True,
        "practitioner": {"reference": "Practitioner/demo-pr-youth-worker"},
        "organization": {"reference": YOUTH_ORG},
        "code": [
            {"coding": [{"system": TEAM_ROLE_SYSTEM, "code": "youth-worker"}]},
            {"coding": [{"system": "http://example.org/other", "code": "ignored"}]},
            {"coding": [{"system": TEAM_ROLE_SYSTEM, "code": "personal-worker"}]},
        ],
    }
    resource.update(changes)
    return resource


def test_a_practitioner_role_is_read() -> None:
    assert professional_from_resource(_resource(), YOUTH_WORKER, BASE) == ProfessionalRole(
        YOUTH_WORKER, YOUTH_ORG, ("youth-worker", "personal-worker"), active=True
    )


@dataclass(frozen=True)
class OrganizationCase:
    name: str
    reference: object
    want: str


ORGANIZATION_CASES = [
    OrganizationCase("relative", {"reference": YOUTH_ORG}, YOUTH_ORG),
    OrganizationCase("absolute on our FHIR base", {"reference": f"{BASE}/{YOUTH_ORG}"}, YOUTH_ORG),
    OrganizationCase("absolute on another server", {"reference": f"https://other.test/fhir/{YOUTH_ORG}"}, ""),
    OrganizationCase("versioned", {"reference": f"{YOUTH_ORG}/_history/2"}, ""),
    OrganizationCase("identifier only", {"identifier": {"value": "1.2.246.10.99990004.10.0"}}, ""),
    OrganizationCase("absent", None, ""),
]


@pytest.mark.parametrize("case", ORGANIZATION_CASES, ids=lambda case: case.name)
def test_organization_reference(case: OrganizationCase) -> None:
    resource = _resource(organization=case.reference)
    assert professional_from_resource(resource, YOUTH_WORKER, BASE).organization == case.want


@pytest.mark.parametrize("active", [False, None, "true"])
def test_a_role_not_stated_active_is_inactive(active: object) -> None:
    assert not professional_from_resource(_resource(active=active), YOUTH_WORKER, BASE).active


@pytest.mark.parametrize(
    "resource",
    [_resource(resourceType="Practitioner"), _resource(id="someone-else"), {}],
    ids=["another type", "another id", "empty"],
)
def test_another_resource_is_a_directory_failure(resource: dict[str, object]) -> None:
    with pytest.raises(DirectoryUnavailable):
        professional_from_resource(resource, YOUTH_WORKER, BASE)


@dataclass(frozen=True)
class ActingCase:
    name: str
    found: ProfessionalRole | UnknownProfessional
    want_refused: bool


ACTING_CASES = [
    ActingCase("active, same organisation", ProfessionalRole(YOUTH_WORKER, YOUTH_ORG, ("youth-worker",), True), False),
    ActingCase("unknown", UnknownProfessional(YOUTH_WORKER), True),
    ActingCase("inactive", ProfessionalRole(YOUTH_WORKER, YOUTH_ORG, ("youth-worker",), False), True),
    ActingCase("another organisation", ProfessionalRole(YOUTH_WORKER, PSYCH_ORG, ("psychiatric-nurse",), True), True),
    ActingCase("no organisation", ProfessionalRole(YOUTH_WORKER, "", ("youth-worker",), True), True),
]


@pytest.mark.parametrize("case", ACTING_CASES, ids=lambda case: case.name)
def test_require_acting_professional(case: ActingCase) -> None:
    if not case.want_refused:
        assert require_acting_professional(case.found, YOUTH_ORG) == case.found
        return
    with pytest.raises(ProfessionalRefused) as caught:
        require_acting_professional(case.found, YOUTH_ORG)
    assert caught.value.error == "invalid_grant"
