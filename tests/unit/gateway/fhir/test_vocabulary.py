"""The shared vocabulary says what profiles/ and terminology/ say: one definition, kept in step."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.fhir import systems
from gateway.fhir.codes import TEAM_ROLES, Sector
from gateway.fhir.ids import ID_PATTERN, PATIENT_REFERENCE, is_id, reference_pattern
from gateway.fhir.resources import PROFILED_TYPES, PROFILES, SERVED_TYPES
from gateway.proxy.search import load_search_rules
from gateway.settings import PROJECT_ROOT


def _resources(folder: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted((PROJECT_ROOT / folder).glob("*.json"))]


def _codes(code_system_url: str) -> set[str]:
    found = [r for r in _resources("terminology") if r["resourceType"] == "CodeSystem" and r["url"] == code_system_url]
    assert len(found) == 1, code_system_url
    return {concept["code"] for concept in found[0]["concept"]}


def test_the_profiled_types_are_exactly_the_resource_profiles_of_profiles_folder() -> None:
    profiles = {
        sd["type"]: sd["url"]
        for sd in _resources("profiles")
        if sd["resourceType"] == "StructureDefinition" and sd["kind"] == "resource" and sd["derivation"] == "constraint"
    }
    assert profiles == dict(PROFILES)
    assert PROFILED_TYPES - SERVED_TYPES == {"DocumentReference"}  # written and read by the document operations only


def test_our_code_systems_and_extensions_exist_under_those_urls() -> None:
    assert _codes(systems.SECTOR_SYSTEM) == {sector.value for sector in Sector}
    assert _codes(systems.TEAM_ROLE_SYSTEM) == TEAM_ROLES
    assert "SOC" in _codes(systems.SENSITIVITY_SYSTEM)
    assert _codes(systems.DISCLOSURE_DIRECTION_SYSTEM) == {"social-to-health", "health-to-social"}
    extensions = {sd["url"] for sd in _resources("profiles") if sd["type"] == "Extension"}
    assert {
        systems.PLAN_SECURITY_LABEL,
        systems.OWNING_SECTOR,
        systems.FIRST_APPOINTMENT_WAIT,
        systems.DOCUMENT_RECIPIENT,
        systems.DOCUMENT_PURPOSE,
        systems.DOCUMENT_VERSION,
    } == extensions
    assert _codes(systems.AUDIT_EVENT_TYPE_SYSTEM) == {"social-welfare-disclosure"}
    assert "curator-meetings" in _codes(systems.SUPPORT_MEASURE_SYSTEM)
    assert all(
        url.startswith(systems.CANONICAL_BASE + "/") for url in (systems.SECTOR_SYSTEM, systems.TEAM_ROLE_SYSTEM)
    )


def test_the_search_rules_name_only_served_types() -> None:
    assert set(load_search_rules().types) <= SERVED_TYPES


@pytest.mark.parametrize("value", ["a", "demo-plan", "A.b-9", "x" * 64, ".a", "a.", "..a", "-"])
def test_fhir_ids(value: str) -> None:
    assert is_id(value) and ID_PATTERN.fullmatch(value)


@pytest.mark.parametrize("value", ["", "x" * 65, "a/b", "a_b", "ä", "a b", ".", "..", "." * 64, None, 3])
def test_not_fhir_ids(value: object) -> None:
    assert not is_id(value)


def test_references() -> None:
    assert PATIENT_REFERENCE.fullmatch("Patient/demo-client")
    assert not PATIENT_REFERENCE.fullmatch("Patient/demo-client/_history/1")
    assert not PATIENT_REFERENCE.fullmatch("http://x/Patient/demo-client")
    assert not PATIENT_REFERENCE.fullmatch("Patient/.") and not PATIENT_REFERENCE.fullmatch("Patient/..")
    assert PATIENT_REFERENCE.fullmatch("Patient/..x")
    actor = reference_pattern("Organization", "PractitionerRole")
    match = actor.fullmatch("PractitionerRole/r-1")
    assert match is not None and match.group(1) == "r-1"
    assert not actor.fullmatch("Patient/r-1")
    with pytest.raises(ValueError):
        reference_pattern("patient")
