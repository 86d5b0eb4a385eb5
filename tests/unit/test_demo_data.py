"""The demo bundle keeps the rules our profiles and the law set for test data."""

from __future__ import annotations

from typing import Any

from gateway.demo import demo_bundle

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _resources() -> list[dict[str, Any]]:
    return [entry["resource"] for entry in demo_bundle()["entry"]]


def test_every_entry_is_an_idempotent_put() -> None:
    for entry in demo_bundle()["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}


def test_every_person_has_a_valid_test_identity_code() -> None:
    people = [r for r in _resources() if r["resourceType"] in ("Patient", "RelatedPerson")]
    assert sorted(r["id"] for r in people) == ["demo-client", "demo-guardian", "demo-minor"]
    for person in people:
        (hetu,) = [i["value"] for i in person["identifier"] if i["system"] == "urn:oid:1.2.246.21"]
        individual = int(hetu[7:10])
        assert 900 <= individual <= 999, "demo data may use test identity codes only"
        assert hetu[10] == CHECK_CHARACTERS[int(hetu[:6] + hetu[7:10]) % 31]


def test_every_reference_resolves_inside_the_bundle() -> None:
    ids = {f"{r['resourceType']}/{r['id']}" for r in _resources()}

    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["reference"]] if isinstance(node.get("reference"), str) else []
            return found + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for item in node for ref in references(item)]
        return []

    dangling = [ref for r in _resources() for ref in references(r) if ref not in ids]
    assert dangling == []


def test_plan_has_four_sectors_and_one_psy_activity() -> None:
    (plan,) = [r for r in _resources() if r["resourceType"] == "CarePlan"]
    sectors, labelled = [], []
    for activity in plan["activity"]:
        for ext in activity["extension"]:
            if ext["url"].endswith("/activity-owning-sector"):
                sectors.append(ext["valueCoding"]["code"])
            if ext["url"].endswith("/plan-security-label"):
                labelled.append(ext["valueCoding"]["code"])
    assert sorted(sectors) == ["child-protection", "hospital-psychiatry", "municipal-youth-services", "school-welfare"]
    assert labelled == ["PSY"]


def test_the_psychiatry_members_of_team_and_plan_are_labelled_psy() -> None:
    psychiatry = {"PractitionerRole/demo-role-psych-nurse", "PractitionerRole/demo-role-psychiatrist"}
    (team,) = [r for r in _resources() if r["resourceType"] == "CareTeam"]
    (plan,) = [r for r in _resources() if r["resourceType"] == "CarePlan"]
    parts = [(p["member"]["reference"], p) for p in team["participant"]]
    parts += [(c["reference"], c) for c in plan["contributor"]]
    for reference, part in parts:
        codes = [
            e["valueCoding"]["code"] for e in part.get("extension", []) if e["url"].endswith("/plan-security-label")
        ]
        assert codes == (["PSY"] if reference in psychiatry else []), reference
    assert sum(reference in psychiatry for reference, _ in parts) == 4
