"""HAPI itself refuses data that breaks our profiles, says why, and stores nothing."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from tests.fhirjson import FHIR_JSON, errors, search_total

TEAM_ROLE = "https://yhteys.fi/fhir/CodeSystem/team-role"


def _demo(reference: str) -> dict[str, Any]:
    """A fresh copy of one demo resource, without its id, with a unique identifier."""
    for entry in demo_bundle()["entry"]:
        resource: dict[str, Any] = entry["resource"]
        if f"{resource['resourceType']}/{resource['id']}" == reference:
            fresh = copy.deepcopy(resource)
            del fresh["id"]
            return fresh
    raise LookupError(reference)


def _mark(resource: dict[str, Any]) -> str:
    """Give `resource` a unique identifier value and return it (to search for it later)."""
    marker = f"test-{uuid.uuid4()}"
    resource["identifier"] = [{"system": "urn:yhteys:test", "value": marker}] + [
        i for i in resource.get("identifier", []) if i.get("system") != "urn:yhteys:test"
    ]
    return marker


def _refused(fhir: httpx.Client, resource: dict[str, Any]) -> list[str]:
    """POST `resource`; assert a 4xx OperationOutcome and that nothing was stored."""
    marker = _mark(resource)
    kind = resource["resourceType"]
    response = fhir.post(f"/{kind}", json=resource, headers=FHIR_JSON)
    assert 400 <= response.status_code < 500, response.text
    assert search_total(fhir, f"/{kind}", identifier=f"urn:yhteys:test|{marker}") == 0
    return errors(response.json())


def _personal_worker(participant: dict[str, Any]) -> bool:
    return any(
        coding.get("system") == TEAM_ROLE and coding.get("code") == "personal-worker"
        for role in participant.get("role", [])
        for coding in role.get("coding", [])
    )


def test_a_valid_copy_is_accepted(fhir: httpx.Client, demo: DemoLoad) -> None:
    """The baseline for the refusals below: the unmodified copy is stored."""
    plan = _demo("CarePlan/demo-plan")
    marker = _mark(plan)
    response = fhir.post("/CarePlan", json=plan, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    assert search_total(fhir, "/CarePlan", identifier=f"urn:yhteys:test|{marker}") == 1


def test_shared_plan_without_subject_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    plan = _demo("CarePlan/demo-plan")
    del plan["subject"]
    problems = _refused(fhir, plan)
    assert any("CarePlan.subject" in p and "minimum required = 1" in p for p in problems), problems


def test_plan_without_our_profile_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    plan = _demo("CarePlan/demo-plan")
    del plan["meta"]
    problems = _refused(fhir, plan)
    assert any("SharedCarePlan" in p for p in problems), problems


def test_activity_without_owning_sector_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    plan = _demo("CarePlan/demo-plan")
    plan["activity"][0]["extension"] = []
    problems = _refused(fhir, plan)
    assert any("owningSector" in p or "activity-owning-sector" in p for p in problems), problems


def test_team_with_two_active_personal_workers_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    team = _demo("CareTeam/demo-team")
    closed = [p for p in team["participant"] if _personal_worker(p) and "end" in p["period"]]
    assert closed, "the demo team must carry a handed-over personal worker"
    del closed[0]["period"]["end"]
    problems = _refused(fhir, team)
    assert any("yht-team-1" in p for p in problems), problems


def test_active_team_without_personal_worker_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    team = _demo("CareTeam/demo-team")
    team["participant"] = [p for p in team["participant"] if not _personal_worker(p)]
    problems = _refused(fhir, team)
    assert any("yht-team-1" in p for p in problems), problems


def test_client_with_wrong_check_character_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    client = _demo("Patient/demo-client")
    hetu = client["identifier"][0]["value"]
    wrong = "B" if hetu[-1] != "B" else "C"
    client["identifier"][0]["value"] = hetu[:-1] + wrong
    problems = _refused(fhir, client)
    assert any("yht-hetu-1" in p for p in problems), problems


@pytest.mark.parametrize(
    "reference",
    ["PractitionerRole/demo-role-youth-worker", "CareTeam/demo-team"],
)
def test_unknown_role_code_is_refused(fhir: httpx.Client, demo: DemoLoad, reference: str) -> None:
    resource = _demo(reference)
    roles = resource["code"] if "code" in resource else resource["participant"][-1]["role"]
    roles[0]["coding"][0]["code"] = "astrologer"
    problems = _refused(fhir, resource)
    assert any("astrologer" in p and "team-role" in p for p in problems), problems


def test_consent_without_policy_uri_is_refused(fhir: httpx.Client, demo: DemoLoad) -> None:
    consent = _demo("Consent/demo-consent")
    consent["policy"] = [{"authority": "https://yhteys.fi"}]
    problems = _refused(fhir, consent)
    assert any("Consent.policy.uri" in p for p in problems), problems


def test_consent_actor_must_be_information_recipient(fhir: httpx.Client, demo: DemoLoad) -> None:
    consent = _demo("Consent/demo-consent")
    actor = consent["provision"]["provision"][0]["actor"][0]
    actor["role"]["coding"][0]["code"] = "PRCP"
    problems = _refused(fhir, consent)
    assert any("yht-consent-2" in p for p in problems), problems


def test_consent_actor_must_be_an_organisation_or_role(fhir: httpx.Client, demo: DemoLoad) -> None:
    consent = _demo("Consent/demo-consent")
    consent["provision"]["provision"][1]["actor"][0]["reference"] = {"reference": "Patient/demo-client"}
    problems = _refused(fhir, consent)
    assert any("yht-consent-2" in p for p in problems), problems


def test_a_consent_names_its_register_crossing_in_category(fhir: httpx.Client, demo: DemoLoad) -> None:
    consent = _demo("Consent/demo-consent")
    consent["category"].append(
        {"coding": [{"system": "https://yhteys.fi/fhir/CodeSystem/disclosure-direction", "code": "social-to-health"}]}
    )
    marker = _mark(consent)
    stored = fhir.post("/Consent", json=consent, headers=FHIR_JSON)
    assert stored.status_code == 201, stored.text
    consent["category"][-1]["coding"][0]["code"] = "sideways"
    problems = _refused(fhir, consent)
    assert any("yht-consent-3" in p for p in problems), problems
    assert search_total(fhir, "/Consent", identifier=f"urn:yhteys:test|{marker}") == 1


def test_an_auditor_role_is_a_professional_role_but_never_a_team_role(fhir: httpx.Client, demo: DemoLoad) -> None:
    team = _demo("CareTeam/demo-team")
    team["participant"][-1]["role"][0]["coding"][0]["code"] = "auditor"
    problems = _refused(fhir, team)
    assert any("auditor" in p for p in problems), problems
    assert fhir.get("/PractitionerRole/demo-role-auditor").status_code == 200  # loaded with the demo
