"""Conformance check 9 (STANDARDS.md): "Identifier systems are exactly the listed OIDs; a
henkilötunnus with a wrong check character is refused."

The gateway's identifier systems equal HL7 Finland's OIDs character for character, and the
demo's clients, licensed professionals and organisations use exactly them
(tests/conformance/fixtures/identifier_systems.json). The check-character rule and codes of
tests/conformance/fixtures/hetu.json (DVV's published example and test identity codes,
individual number 900-999) are checked first against the rule itself; then the real HAPI,
through our FiClient profile, stores a client with each test code and refuses each code with
any other check character (invariant yht-hetu-1), storing nothing.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from gateway.fhir import systems
from tests.conformance.support import fixture
from tests.fhirjson import FHIR_JSON, errors, search_total

SYSTEMS = fixture("identifier_systems.json")
HETU = fixture("hetu.json")
CHECK = HETU["check_characters"]
MARK = "urn:yhteys:test"


def _check_character(code: str) -> str:
    return str(CHECK[int(code[:6] + code[7:10]) % 31])


def test_the_gateways_systems_are_exactly_the_oids() -> None:
    assert systems.HETU_SYSTEM == SYSTEMS["henkilotunnus"]
    assert systems.VALVIRA_SYSTEM == SYSTEMS["valvira"]
    assert systems.SOTE_ORGANIZATION_SYSTEM == SYSTEMS["sote_organization"]
    assert systems.RESTRICTION_PARENT_SYSTEM == SYSTEMS["restriction_parent"]


def _demo(kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in demo_bundle()["entry"] if e["resource"]["resourceType"] == kind]


def test_the_demo_uses_exactly_those_systems() -> None:
    for patient in _demo("Patient"):
        (hetu,) = [i for i in patient["identifier"] if i["system"] == SYSTEMS["henkilotunnus"]]
        assert hetu["use"] == "official"
        assert 900 <= int(hetu["value"][7:10]) <= 999  # a test identity code
    for organization in _demo("Organization"):
        assert {i["system"] for i in organization["identifier"]} == {SYSTEMS["sote_organization"]}
    licensed = [
        p
        for p in _demo("Practitioner")
        if any(i["system"].startswith("urn:oid:1.2.246.537.26") for i in p["identifier"])
    ]
    assert licensed and all(i["system"] == SYSTEMS["valvira"] for p in licensed for i in p["identifier"])


def test_the_fixture_follows_the_published_rule() -> None:
    example = HETU["published_example"]
    assert _check_character(example) == example[-1]
    for code in HETU["test_codes"]:
        assert _check_character(code) == code[-1], code
        assert 900 <= int(code[7:10]) <= 999


def _client_with(code: str) -> tuple[dict[str, Any], str]:
    patient = copy.deepcopy(_demo("Patient")[0])
    del patient["id"]
    marker = f"check-09-{uuid.uuid4()}"
    patient["identifier"] = [{"use": "official", "system": SYSTEMS["henkilotunnus"], "value": code}]
    patient["identifier"].append({"system": MARK, "value": marker})
    return patient, marker


@pytest.mark.parametrize("code", HETU["test_codes"])
def test_a_valid_test_code_is_stored(fhir: httpx.Client, demo: DemoLoad, code: str) -> None:
    patient, marker = _client_with(code)
    response = fhir.post("/Patient", json=patient, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    assert search_total(fhir, "/Patient", identifier=f"{MARK}|{marker}") == 1


@pytest.mark.parametrize("code", HETU["test_codes"])
def test_every_wrong_check_character_is_refused(fhir: httpx.Client, demo: DemoLoad, code: str) -> None:
    wrong = [c for c in CHECK if c != code[-1]]
    for character in (wrong[0], wrong[len(wrong) // 2], wrong[-1]):
        patient, marker = _client_with(code[:-1] + character)
        response = fhir.post("/Patient", json=patient, headers=FHIR_JSON)
        assert 400 <= response.status_code < 500, (character, response.text)
        assert any("yht-hetu-1" in problem for problem in errors(response.json()))
        assert search_total(fhir, "/Patient", identifier=f"{MARK}|{marker}") == 0
