"""Our terminology answers $expand and $validate-code offline, in Finnish and Swedish too."""

from __future__ import annotations

import httpx

from gateway.demo import demo_bundle
from tests.fhirjson import FHIR_JSON, errors

ROLE_VS = "https://yhteys.fi/fhir/ValueSet/team-role"
ROLE_CS = "https://yhteys.fi/fhir/CodeSystem/team-role"
SECURITY_EXT = "https://yhteys.fi/fhir/StructureDefinition/plan-security-label"


def test_role_expansion_has_finnish_and_swedish_displays(fhir: httpx.Client) -> None:
    response = fhir.get("/ValueSet/$expand", params={"url": ROLE_VS, "includeDesignations": "true"})
    assert response.status_code == 200, response.text
    contains = response.json()["expansion"]["contains"]
    by_code = {c["code"]: {d["language"]: d["value"] for d in c.get("designation", [])} for c in contains}
    assert len(by_code) == 17 and "auditor" not in by_code  # an access role, never a team member
    assert all({"fi", "sv"} <= set(d) for d in by_code.values()), by_code
    assert by_code["personal-worker"]["fi"] == "Omatyöntekijä"
    assert by_code["youth-worker"] == {"fi": "Nuorisotyöntekijä", "sv": "Ungdomsarbetare"}


def test_validate_code_knows_our_roles(fhir: httpx.Client) -> None:
    def result(code: str) -> bool:
        response = fhir.get("/ValueSet/$validate-code", params={"url": ROLE_VS, "system": ROLE_CS, "code": code})
        assert response.status_code == 200, response.text
        params = {p["name"]: p for p in response.json()["parameter"]}
        value: bool = params["result"]["valueBoolean"]
        return value

    assert result("psychiatric-nurse") is True
    assert result("astrologer") is False


def test_sensitivity_labels_expand(fhir: httpx.Client) -> None:
    response = fhir.get("/ValueSet/$expand", params={"url": "https://yhteys.fi/fhir/ValueSet/sensitivity-label"})
    assert response.status_code == 200, response.text
    codes = {(c["system"], c["code"]) for c in response.json()["expansion"]["contains"]}
    v3 = "http://terminology.hl7.org/CodeSystem/"
    assert codes == {
        (v3 + "v3-ActCode", "PSY"),
        (v3 + "v3-ActCode", "ETH"),
        (v3 + "v3-Confidentiality", "R"),
        ("https://yhteys.fi/fhir/CodeSystem/sensitivity", "SOC"),
    }


def test_every_sensitivity_label_is_accepted_on_a_plan_activity(fhir: httpx.Client) -> None:
    """Each label of the value set passes HAPI's validation where the gateway reads it."""
    expansion = fhir.get(
        "/ValueSet/$expand", params={"url": "https://yhteys.fi/fhir/ValueSet/sensitivity-label"}
    ).json()["expansion"]["contains"]
    (plan,) = [e["resource"] for e in demo_bundle()["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    activity = plan["activity"][0]
    for label in expansion:
        activity["extension"] = [
            ext for ext in activity["extension"] if not ext["url"].endswith("/plan-security-label")
        ] + [{"url": SECURITY_EXT, "valueCoding": {"system": label["system"], "code": label["code"]}}]
        plan["meta"]["security"] = [{"system": label["system"], "code": label["code"]}]
        response = fhir.post("/CarePlan/$validate", json=plan, headers=FHIR_JSON)
        assert errors(response.json()) == [], label


PSYCHIATRY_ROLE_MAP = "https://yhteys.fi/fhir/ConceptMap/psychiatry-ehr-role"
PSYCHIATRY_LOCAL_ROLE = "https://yhteys.fi/fhir/CodeSystem/psychiatry-ehr-role"


def _translated(fhir: httpx.Client, system: str, code: str) -> list[tuple[str, str]]:
    """The team-role codes HAPI's $translate gives for `code` of `system` (with equivalence)."""
    params = {"url": PSYCHIATRY_ROLE_MAP, "system": system, "code": code, "targetsystem": ROLE_CS}
    response = fhir.get("/ConceptMap/$translate", params=params)
    assert response.status_code == 200, response.text
    parameters = response.json()["parameter"]
    found = []
    for match in (p for p in parameters if p["name"] == "match"):
        parts = {part["name"]: part for part in match["part"]}
        found.append((parts["concept"]["valueCoding"]["code"], parts["equivalence"]["valueCode"]))
    return found


def test_the_psychiatry_ehrs_local_roles_translate_offline(fhir: httpx.Client) -> None:
    assert _translated(fhir, PSYCHIATRY_LOCAL_ROLE, "OMA") == [("personal-worker", "equivalent")]
    assert _translated(fhir, PSYCHIATRY_LOCAL_ROLE, "PSH") == [("psychiatric-nurse", "equivalent")]
    assert _translated(fhir, "http://terminology.hl7.org/CodeSystem/v2-0443", "CP") == [
        ("consulting-psychiatrist", "narrower")
    ]
    assert _translated(fhir, PSYCHIATRY_LOCAL_ROLE, "ASTROLOGI") == []  # an unknown local code maps to nothing
