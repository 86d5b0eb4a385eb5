"""Data written to the store survives a restart of HAPI (H2 file database)."""

from __future__ import annotations

import uuid

import httpx

from gateway.demo import DemoLoad
from gateway.hapi import HapiServer
from tests.fhirjson import FHIR_JSON


def test_data_survives_restart(hapi: HapiServer, fhir: httpx.Client, demo: DemoLoad) -> None:
    text = f"restart probe {uuid.uuid4()}"
    created = fhir.post(
        "/Condition",
        json={"resourceType": "Condition", "subject": {"reference": "Patient/demo-client"}, "code": {"text": text}},
        headers=FHIR_JSON,
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"].split("/_history")[0]
    condition_id = location.rsplit("/", 1)[-1]
    plan_before = fhir.get("/CarePlan/demo-plan").json()

    assert hapi.stop() is True
    assert hapi.status().running is False
    hapi.start()

    again = fhir.get(f"/Condition/{condition_id}")
    assert again.status_code == 200
    assert again.json()["code"]["text"] == text
    assert fhir.get("/CarePlan/demo-plan").json() == plan_before
