"""The store keeps its data across restarts (H2 file database), and a restart brings in
whatever profiles/ and terminology/ hold at that moment."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import httpx

from gateway.demo import DemoLoad
from gateway.hapi import HapiServer
from gateway.settings import PROJECT_ROOT
from tests.fhirjson import FHIR_JSON

PLAN_PROFILE = "https://yhteys.fi/fhir/StructureDefinition/SharedCarePlan"


def _checkout_with_edited_plan_profile(root: Path, description: str) -> Path:
    """A project root sharing everything with ours but a SharedCarePlan with `description`."""
    for name in ("docker", "terminology"):
        (root / name).symlink_to(PROJECT_ROOT / name)
    shutil.copytree(PROJECT_ROOT / "profiles", root / "profiles")
    path = root / "profiles" / "SharedCarePlan.json"
    profile = json.loads(path.read_text(encoding="utf-8"))
    profile["description"] = description
    path.write_text(json.dumps(profile), encoding="utf-8")
    return root


def _plan_profile_description(fhir: httpx.Client) -> str:
    found = fhir.get("/StructureDefinition", params={"url": PLAN_PROFILE}).json()["entry"]
    assert len(found) == 1
    description: str = found[0]["resource"]["description"]
    return description


def test_data_survives_restart_and_profile_edits_apply(
    hapi: HapiServer, fhir: httpx.Client, demo: DemoLoad, tmp_path: Path
) -> None:
    text = f"restart probe {uuid.uuid4()}"
    created = fhir.post(
        "/Condition",
        json={
            "resourceType": "Condition",
            "subject": {"reference": "Patient/demo-client"},
            "code": {"text": text},
        },
        headers=FHIR_JSON,
    )
    assert created.status_code == 201, created.text
    condition_id = created.headers["Location"].split("/_history")[0].rsplit("/", 1)[-1]
    plan_before = fhir.get("/CarePlan/demo-plan").json()
    original = _plan_profile_description(fhir)

    edited = f"edited {uuid.uuid4()}"
    root = _checkout_with_edited_plan_profile(tmp_path, edited)
    assert hapi.stop() is True
    assert hapi.status().running is False
    twin = HapiServer(hapi.settings.with_changes(project_root=root))
    twin.start()
    try:
        again = fhir.get(f"/Condition/{condition_id}")
        assert again.status_code == 200
        assert again.json()["code"]["text"] == text
        assert fhir.get("/CarePlan/demo-plan").json() == plan_before
        assert _plan_profile_description(fhir) == edited
    finally:
        twin.stop()
        hapi.start()
    assert _plan_profile_description(fhir) == original
