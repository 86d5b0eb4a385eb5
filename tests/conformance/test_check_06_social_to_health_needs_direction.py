"""Conformance check 6 (STANDARDS.md): "A social → health disclosure fails without an active
consent in that direction."

On a private copy of the demo client, a need is labelled SOC (social welfare register) on the
real HAPI. A psychiatric nurse (health register) reads it through the in-process gateway:
hidden with the client's ordinary consent; still hidden when a consent permits SOC to the
psychiatry organisation without saying the direction, or says only health → social; shown once
the consent names social → health in its category; hidden again when that consent is withdrawn.
The social worker, whose own register it is, reads it throughout.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.conformance.support import member_token, on_store, put_on_store
from tests.e2e.gateway_harness import PSYCH_NURSE, SOCIAL_WORKER, Client, Gateway

SOC = {"system": "https://yhteys.fi/fhir/CodeSystem/sensitivity", "code": "SOC"}
DIRECTION = "https://yhteys.fi/fhir/CodeSystem/disclosure-direction"
IRCP = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}


def _label_need(fhir: httpx.Client, client: Client) -> str:
    need = on_store(fhir, client.ref("need-housing"))
    need["meta"] = {**{k: v for k, v in need["meta"].items() if k == "profile"}, "security": [SOC]}
    put_on_store(fhir, need)
    return client.ref("need-housing")


def _consent(base: dict[str, Any], direction: str | None, status: str = "active") -> dict[str, Any]:
    consent = copy.deepcopy(base)
    consent["status"] = status
    consent["provision"]["provision"].append(
        {
            "type": "permit",
            "actor": [{"role": IRCP, "reference": {"reference": PSYCH_NURSE.organization}}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Condition"}],
            "securityLabel": [SOC],
        }
    )
    if direction:
        consent["category"].append({"coding": [{"system": DIRECTION, "code": direction}]})
    return consent


def test_a_social_to_health_disclosure_needs_a_consent_in_that_direction(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    need = _label_need(fhir, client)
    base = on_store(fhir, client.ref("consent"))
    nurse, social = member_token(PSYCH_NURSE), member_token(SOCIAL_WORKER)

    def nurse_reads() -> int:
        assert call("GET", f"/fhir/{need}", social).status_code == 200  # its own register: always
        return call("GET", f"/fhir/{need}", nurse).status_code

    assert nurse_reads() == 404  # the ordinary consent says nothing of SOC
    put_on_store(fhir, _consent(base, None))
    assert nurse_reads() == 404  # SOC permitted, but no direction
    put_on_store(fhir, _consent(base, "health-to-social"))
    assert nurse_reads() == 404  # the other direction is not enough
    put_on_store(fhir, _consent(base, "social-to-health"))
    assert nurse_reads() == 200
    put_on_store(fhir, _consent(base, "social-to-health", status="inactive"))
    assert nurse_reads() == 404  # only an active consent counts
