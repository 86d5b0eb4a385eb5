"""Our profiles, terminology and demo data validate on HAPI itself."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from gateway.settings import PROJECT_ROOT
from gateway.store.package import collect_resources
from tests.fhirjson import FHIR_JSON, errors

PACKAGE_RESOURCES = collect_resources(PROJECT_ROOT / "profiles", PROJECT_ROOT / "terminology")
DEMO_RESOURCES = [entry["resource"] for entry in demo_bundle()["entry"]]


def _ident(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def _validate(fhir: httpx.Client, resource: dict[str, Any]) -> list[str]:
    response = fhir.post(f"/{resource['resourceType']}/$validate", json=resource, headers=FHIR_JSON)
    assert response.status_code in (200, 412, 422), response.text
    return errors(response.json())


@pytest.mark.parametrize("resource", PACKAGE_RESOURCES, ids=_ident)
def test_package_resource_validates(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    assert _validate(fhir, resource) == []


@pytest.mark.parametrize("resource", PACKAGE_RESOURCES, ids=_ident)
def test_package_resource_is_installed(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    response = fhir.get(f"/{resource['resourceType']}", params={"url": resource["url"]})
    assert response.status_code == 200
    found = [e["resource"] for e in response.json().get("entry", [])]
    assert [r["version"] for r in found] == [resource["version"]]
    assert found[0]["status"] == "active"


@pytest.mark.parametrize("resource", DEMO_RESOURCES, ids=_ident)
def test_demo_resource_validates(fhir: httpx.Client, demo: DemoLoad, resource: dict[str, Any]) -> None:
    assert _validate(fhir, resource) == []


def test_demo_load_is_idempotent(fhir: httpx.Client, base_url: str, demo: DemoLoad) -> None:
    from gateway.demo import load_demo

    again = load_demo(fhir, base_url)
    assert again.created == 0
    assert again.locations == demo.locations  # same ids, no new versions
    assert len(again.locations) == len(DEMO_RESOURCES)


def test_demo_plan_reads_back_with_its_goals_and_team(fhir: httpx.Client, demo: DemoLoad) -> None:
    response = fhir.get(
        "/CarePlan",
        params={
            "_id": "demo-plan",  # other tests add plans for the demo client
            "_include": ["CarePlan:goal", "CarePlan:care-team"],
        },
    )
    assert response.status_code == 200
    kinds = sorted(e["resource"]["resourceType"] for e in response.json()["entry"])
    assert kinds == ["CarePlan", "CareTeam", "Goal", "Goal", "Goal"]
