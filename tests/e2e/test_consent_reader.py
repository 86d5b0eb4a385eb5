"""The consent reader against the real HAPI: it sees what the store holds now, never a stale copy.

The decisions use a fixed clock inside the demo consent's period (2026-09-01 … 2027-08-31).
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from auth.scopes import parse_scope
from gateway.access.consent.decider import (
    ConsentPolicy,
    ConsentsOnFile,
    ConsentsRead,
    ConsentUnreadable,
    NoConsentOnFile,
)
from gateway.access.seam import AccessRequest, Basis, Effect
from gateway.demo import DemoLoad, demo_bundle
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.store.client import Upstream
from gateway.store.consents import read_consents
from tests.fhirjson import FHIR_JSON

CLIENT = "Patient/demo-client"
YOUTH_ORG = "Organization/demo-org-youth-services"
POLICY = ConsentPolicy(clock=lambda: datetime(2027, 1, 15, 12, tzinfo=UTC).timestamp())
YOUTH_READS_PLAN = AccessRequest(
    client_id="youth-services-system",
    organization=YOUTH_ORG,
    sector=Sector.MUNICIPAL_YOUTH_SERVICES,
    practitioner_role="PractitionerRole/demo-role-youth-worker",
    team_roles=("youth-worker",),
    scopes=(parse_scope("system/CarePlan.rs"),),
    purpose_of_use=PurposeOfUse.TREAT,
    btg_reason=None,
    interaction=Interaction.READ,
    resource_type="CarePlan",
    resource_id="demo-plan",
    patient=CLIENT,
)


def _read(base_url: str, patient: str = CLIENT, **limits: int) -> ConsentsRead:
    async def read() -> ConsentsRead:
        upstream = Upstream(base_url, timeout=30.0)
        try:
            return await read_consents(upstream, patient, **limits)
        finally:
            await upstream.close()

    return asyncio.run(read())


def _ids(on_file: ConsentsRead) -> set[str]:
    assert isinstance(on_file, ConsentsOnFile), on_file
    return {str(consent["id"]) for consent in on_file.consents}


def _denying_consent() -> dict[str, Any]:
    """A copy of demo-consent, without id, with a unique identifier, refusing the youth services."""
    entries = demo_bundle()["entry"]
    consent: dict[str, Any] = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "Consent")
    consent = copy.deepcopy(consent)
    del consent["id"]
    consent["identifier"] = [{"system": "urn:yhteys:test", "value": f"test-{uuid.uuid4()}"}]
    refusal = copy.deepcopy(consent["provision"]["provision"][0])
    refusal["type"] = "deny"
    for element in ("purpose", "class"):
        refusal.pop(element, None)
    assert refusal["actor"][0]["reference"]["reference"] == YOUTH_ORG
    consent["provision"]["provision"] = [refusal]
    return consent


def test_the_demo_consent_is_read_and_permits_the_youth_services(base_url: str, demo: DemoLoad) -> None:
    on_file = _read(base_url)
    assert "demo-consent" in _ids(on_file)
    decision = POLICY.check(YOUTH_READS_PLAN, on_file)
    assert decision.effect is Effect.PERMIT and decision.basis == frozenset({Basis.CONSENT})


def test_a_new_refusal_and_its_withdrawal_apply_to_the_very_next_read(
    fhir: httpx.Client, base_url: str, demo: DemoLoad
) -> None:
    created = fhir.post("/Consent", json=_denying_consent(), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    consent: dict[str, Any] = created.json()
    rule = f"https://yhteys.fi/fhir/policy/consent/Consent/{consent['id']}"
    try:
        on_file = _read(base_url)
        assert {"demo-consent", consent["id"]} <= _ids(on_file)
        denied = POLICY.check(YOUTH_READS_PLAN, on_file)
        assert denied.effect is Effect.DENY
        assert [(r.code, r.rule) for r in denied.reasons] == [("consent-denies", rule)]

        consent["status"] = "inactive"
        version = consent["meta"]["versionId"]
        withdrawn = fhir.put(
            f"/Consent/{consent['id']}", json=consent, headers={**FHIR_JSON, "If-Match": f'W/"{version}"'}
        )
        assert withdrawn.status_code == 200, withdrawn.text

        on_file = _read(base_url)
        assert consent["id"] not in _ids(on_file) and "demo-consent" in _ids(on_file)
        assert POLICY.check(YOUTH_READS_PLAN, on_file).effect is Effect.PERMIT
    finally:
        assert fhir.delete(f"/Consent/{consent['id']}").status_code in (200, 204)


def test_a_full_page_is_unreadable(fhir: httpx.Client, base_url: str, demo: DemoLoad) -> None:
    created = fhir.post("/Consent", json=_denying_consent(), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    try:
        everything = _ids(_read(base_url))
        assert len(everything) >= 2
        assert _ids(_read(base_url, page_size=len(everything) + 1)) == everything
        full = _read(base_url, page_size=len(everything))
        assert isinstance(full, ConsentUnreadable) and "more than one page holds" in full.why
        assert POLICY.check(YOUTH_READS_PLAN, full).effect is Effect.DENY
    finally:
        assert fhir.delete(f"/Consent/{created.json()['id']}").status_code in (200, 204)


def test_a_client_without_consents_has_none_on_file(base_url: str, demo: DemoLoad) -> None:
    assert _read(base_url, f"Patient/nobody-{uuid.uuid4().hex[:12]}") == NoConsentOnFile()


@pytest.mark.parametrize("base", ["http://127.0.0.1:9/fhir", "http://127.0.0.1:9/fhir/"])
def test_a_store_that_cannot_be_reached_is_unreadable(base: str) -> None:
    on_file = _read(base)
    assert isinstance(on_file, ConsentUnreadable)
    assert POLICY.check(YOUTH_READS_PLAN, on_file).effect is Effect.DENY


def test_a_store_answering_an_error_is_unreadable(base_url: str, demo: DemoLoad) -> None:
    assert isinstance(_read(base_url.removesuffix("/fhir") + "/no-such-fhir"), ConsentUnreadable)
