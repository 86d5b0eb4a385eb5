"""The token endpoint's professional directory reads the demo team from the real HAPI."""

from __future__ import annotations

import asyncio

import httpx

from auth.professionals import (
    FhirProfessionalDirectory,
    ProfessionalRole,
    UnknownProfessional,
    require_acting_professional,
)
from gateway.demo import DemoLoad


def _lookup(base_url: str, reference: str) -> ProfessionalRole | UnknownProfessional:
    async def run() -> ProfessionalRole | UnknownProfessional:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await FhirProfessionalDirectory(base_url, client).lookup(reference)

    return asyncio.run(run())


def test_demo_youth_worker_is_found_with_organisation_and_role(base_url: str, demo: DemoLoad) -> None:
    found = _lookup(base_url, "PractitionerRole/demo-role-youth-worker")
    assert found == ProfessionalRole(
        reference="PractitionerRole/demo-role-youth-worker",
        organization="Organization/demo-org-youth-services",
        team_roles=("youth-worker",),
        active=True,
    )
    assert require_acting_professional(found, "Organization/demo-org-youth-services") == found


def test_unknown_role_is_unknown(base_url: str, demo: DemoLoad) -> None:
    assert _lookup(base_url, "PractitionerRole/no-such-role") == UnknownProfessional("PractitionerRole/no-such-role")
