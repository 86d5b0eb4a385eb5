"""Conformance check 5 (STANDARDS.md): "A Consent without policy.uri, scope patient-privacy or
actor.role IRCP is rejected; consent searches without patient and status are rejected."

The Consent shape is enforced by the real HAPI against our PlanConsent profile (IHE PCF): each
of the three faults, made in a fresh copy of the demo consent, is refused with an
OperationOutcome and nothing stored, while the unmodified copy is stored. Consent searches go
through the in-process gateway with a social worker's token (a role that may read consents):
without patient or without status they are refused with 400; with both they are served.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from tests.conformance.support import member_token
from tests.e2e.gateway_harness import READ_SCOPES, SOCIAL_WORKER, Client, Gateway
from tests.fhirjson import FHIR_JSON, errors, search_total

Consent = dict[str, Any]
MARK = "urn:yhteys:test"


def _fresh_consent() -> tuple[Consent, str]:
    demo = next(e["resource"] for e in demo_bundle()["entry"] if e["resource"]["resourceType"] == "Consent")
    consent = copy.deepcopy(demo)
    del consent["id"]
    marker = f"check-05-{uuid.uuid4()}"
    consent["identifier"] = [{"system": MARK, "value": marker}]
    return consent, marker


def _no_policy_uri(consent: Consent) -> None:
    consent["policy"] = [{"authority": "https://yhteys.fi"}]


def _other_scope(consent: Consent) -> None:
    consent["scope"]["coding"][0]["code"] = "research"


def _actor_not_ircp(consent: Consent) -> None:
    consent["provision"]["provision"][0]["actor"][0]["role"]["coding"][0]["code"] = "PRCP"


def test_the_unmodified_consent_is_stored(fhir: httpx.Client, client: Client) -> None:
    consent, marker = _fresh_consent()
    consent["patient"] = {"reference": client.ref("client")}  # not the shared demo client's
    assert fhir.post("/Consent", json=consent, headers=FHIR_JSON).status_code == 201
    assert search_total(fhir, "/Consent", identifier=f"{MARK}|{marker}") == 1


@pytest.mark.parametrize(
    "fault",
    [_no_policy_uri, _other_scope, _actor_not_ircp],
    ids=["no-policy-uri", "scope-not-patient-privacy", "actor-role-not-ircp"],
)
def test_a_consent_missing_a_pcf_element_is_rejected(
    fhir: httpx.Client, demo: DemoLoad, fault: Callable[[Consent], None]
) -> None:
    consent, marker = _fresh_consent()
    fault(consent)
    response = fhir.post("/Consent", json=consent, headers=FHIR_JSON)
    assert 400 <= response.status_code < 500, response.text
    assert errors(response.json())  # an OperationOutcome that says why
    assert search_total(fhir, "/Consent", identifier=f"{MARK}|{marker}") == 0


CONSENT_READER = (*READ_SCOPES, "system/Consent.rs")


@pytest.mark.parametrize(
    "query",
    ["patient=Patient/demo-client", "status=active", "identifier=x", ""],
    ids=["patient-only", "status-only", "neither", "no-parameters"],
)
def test_a_consent_search_without_patient_and_status_is_rejected(call: Gateway, query: str) -> None:
    response = call("GET", f"/fhir/Consent?{query}".rstrip("?"), member_token(SOCIAL_WORKER, CONSENT_READER))
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_consent_search_with_patient_and_status_is_served(call: Gateway) -> None:
    token = member_token(SOCIAL_WORKER, CONSENT_READER)
    response = call("GET", "/fhir/Consent?patient=Patient/demo-client&status=active", token)
    assert response.status_code == 200, response.text
    assert "Consent/demo-consent" in {f"Consent/{e['resource']['id']}" for e in response.json().get("entry", [])}
