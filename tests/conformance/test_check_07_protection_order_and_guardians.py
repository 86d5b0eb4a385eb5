"""Conformance check 7 (STANDARDS.md): "A protection-order (TURVAKIELTO) client's address is
never released; a RestrictionParent code 3 or 4 blocks guardian access."

Protection order: a private copy of the demo client is marked TURVAKIELTO on the real HAPI
(which keeps her address); through the in-process gateway no token, of any sector, gets the
address, by read, search or _revinclude, while an unmarked client's address is released.

RestrictionParent: a Consent carrying HL7 Finland's extension (codes from
tests/conformance/fixtures/restriction_parent.json) is stored on the real HAPI, read back by
the gateway's own consent reader, and decided by the gateway's consent decider for a caller
whose team role is guardian: codes 3 and 4 deny (consent-restricts-guardians), 1 and 2 do not.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest

from auth.scopes import parse_scope
from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile
from gateway.access.seam import AccessRequest, Effect
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.store.client import Upstream
from gateway.store.consents import read_consents
from tests.conformance.support import fixture, member_token, on_store, put_on_store
from tests.e2e.gateway_harness import CURATOR, PSYCH_NURSE, SOCIAL_WORKER, YOUTH_WORKER, Client, Gateway

TURVAKIELTO = {
    "system": "https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs",
    "code": "TURVAKIELTO",
}
RESTRICTION = fixture("restriction_parent.json")


def _protect(fhir: httpx.Client, client: Client) -> dict[str, Any]:
    patient = on_store(fhir, client.ref("client"))
    patient["meta"] = {"profile": patient["meta"]["profile"], "security": [TURVAKIELTO]}
    put_on_store(fhir, patient)
    stored = on_store(fhir, client.ref("client"))
    assert stored["address"]  # the store keeps it; the gateway must not release it
    return stored


def _address_words(patient: dict[str, Any]) -> list[str]:
    return [line for address in patient["address"] for line in address.get("line", [])] + [
        address["postalCode"] for address in patient["address"] if "postalCode" in address
    ]


def test_a_protected_clients_address_is_never_released(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    words = _address_words(_protect(fhir, client))
    assert words
    patient = client.ref("client")
    for member in (CURATOR, PSYCH_NURSE, SOCIAL_WORKER, YOUTH_WORKER):
        token = member_token(member)
        answers = [
            call("GET", f"/fhir/{patient}", token),
            call("GET", f"/fhir/Patient?_id={client.prefix}-client", token),
            call("GET", f"/fhir/Goal?subject={patient}&_include=Goal:subject", token),
        ]
        for answer in answers:
            assert not any(word in answer.text for word in words), member.team_role
            assert '"address"' not in answer.text
        if member is not YOUTH_WORKER:  # youth services read no Patient under the demo consent
            assert [a.status_code for a in answers] == [200, 200, 200], member.team_role
            assert answers[0].json()["id"] == f"{client.prefix}-client"  # the client herself is shown


def test_an_unprotected_clients_address_is_released(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    words = _address_words(on_store(fhir, client.ref("client")))
    answer = call("GET", f"/fhir/{client.ref('client')}", member_token(CURATOR))
    assert answer.status_code == 200 and all(word in answer.text for word in words)


def _guardian_request(patient: str) -> AccessRequest:
    return AccessRequest(
        client_id="social-welfare-system",
        organization="Organization/demo-org-social-welfare",
        sector=Sector.SOCIAL_WELFARE,
        practitioner_role="PractitionerRole/demo-role-guardian",
        team_roles=("guardian",),
        scopes=(parse_scope("system/CarePlan.rs"),),
        purpose_of_use=PurposeOfUse.TREAT,
        btg_reason=None,
        interaction=Interaction.READ,
        resource_type="CarePlan",
        resource_id=None,
        patient=patient,
    )


def _decide_with_restriction(fhir: httpx.Client, base_url: str, client: Client, code: str) -> set[str]:
    consent = copy.deepcopy(on_store(fhir, client.ref("consent")))
    consent["extension"] = [{"url": RESTRICTION["url"], "valueCoding": {"system": RESTRICTION["system"], "code": code}}]
    put_on_store(fhir, consent)

    async def read() -> Any:
        upstream = Upstream(base_url)
        try:
            return await read_consents(upstream, client.ref("client"))
        finally:
            await upstream.close()

    on_file = asyncio.run(read())
    assert isinstance(on_file, ConsentsOnFile)
    assert any(c.get("extension") for c in on_file.consents)  # read back from the store as stored
    decision = ConsentPolicy().check(_guardian_request(client.ref("client")), on_file)
    codes = {reason.code for reason in decision.reasons}
    assert (decision.effect is Effect.DENY) is ("consent-restricts-guardians" in codes)
    return codes


@pytest.mark.parametrize("code", RESTRICTION["blocking"])
def test_restriction_parent_3_or_4_blocks_guardians(
    fhir: httpx.Client, base_url: str, client: Client, code: str
) -> None:
    assert "consent-restricts-guardians" in _decide_with_restriction(fhir, base_url, client, code)


@pytest.mark.parametrize("code", RESTRICTION["allowing"])
def test_restriction_parent_1_or_2_does_not_block_guardians(
    fhir: httpx.Client, base_url: str, client: Client, code: str
) -> None:
    assert "consent-restricts-guardians" not in _decide_with_restriction(fhir, base_url, client, code)
