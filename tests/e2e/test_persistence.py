"""The store keeps its data across a stop and across a crash (H2 file database), and a start
brings in whatever profiles/ and terminology/ hold at that moment."""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from pathlib import Path

import httpx
import pytest

from gateway.demo import DemoLoad
from gateway.settings import PROJECT_ROOT
from gateway.store.hapi import HapiServer
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


def _create_probe(fhir: httpx.Client) -> tuple[str, str]:
    """Store a Condition with a unique text; return its id and the text."""
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
    return created.headers["Location"].split("/_history")[0].rsplit("/", 1)[-1], text


def _probe_text(fhir: httpx.Client, condition_id: str) -> str:
    again = fhir.get(f"/Condition/{condition_id}")
    assert again.status_code == 200, again.text
    text: str = again.json()["code"]["text"]
    return text


@pytest.mark.slow
def test_data_survives_stop_and_crash_and_profile_edits_apply(
    hapi: HapiServer, fhir: httpx.Client, demo: DemoLoad, tmp_path: Path
) -> None:
    first_id, first_text = _create_probe(fhir)
    plan_before = fhir.get("/CarePlan/demo-plan").json()
    original = _plan_profile_description(fhir)

    # A graceful stop, then a start whose profiles/ holds an edited SharedCarePlan.
    edited = f"edited {uuid.uuid4()}"
    root = _checkout_with_edited_plan_profile(tmp_path, edited)
    assert hapi.stop() is True
    assert hapi.status().running is False
    twin = HapiServer(hapi.settings.with_changes(project_root=root))
    twin.start()
    try:
        assert _probe_text(fhir, first_id) == first_text
        assert fhir.get("/CarePlan/demo-plan").json() == plan_before
        assert _plan_profile_description(fhir) == edited

        # A crash right after an acknowledged write loses nothing.
        second_id, second_text = _create_probe(fhir)
        pid = twin.status().pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    finally:
        twin.stop()  # stops it, or reaps it once killed
        hapi.start()
    assert _probe_text(fhir, second_id) == second_text
    assert _probe_text(fhir, first_id) == first_text
    assert _plan_profile_description(fhir) == original
