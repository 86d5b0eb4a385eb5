"""A source system's client of the served gateway: its own token, its own audit trail entries.

Against a gateway served by uvicorn in front of the session's HAPI, with the demo systems
registered: the adapters reach the plan as any connected system does (issue 10).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from gateway.audit.setup import open_store
from gateway.settings import Settings
from mappings.client import GatewayClient, GatewayUnreachable, SourceSystem, TokenRefused

_READ = "system/CarePlan.rs system/Patient.rs"


def _school(settings: Settings, key_file: Path | None = None) -> SourceSystem:
    key = key_file or settings.gateway_dir / "school-welfare-system.jwk"
    return SourceSystem("school-welfare-system", key, "PractitionerRole/demo-role-curator", _READ)


def _agents(settings: Settings) -> list[str]:
    store = open_store(settings)
    try:
        events = [json.loads(stored.event) for stored in store.events()]
    finally:
        store.close()
    return [json.dumps(e["agent"]) for e in events if e["type"]["code"] == "rest" and "CarePlan" in json.dumps(e)]


def test_a_source_system_reads_the_plan_with_its_own_token(served: Settings) -> None:
    async def run() -> tuple[int, int, int]:
        client = GatewayClient(f"{served.gateway_origin}/fhir", _school(served))
        try:
            first = await client.request("GET", "CarePlan/demo-plan")
            token = client._token
            second = await client.request("GET", "CarePlan", params=[("subject", "Patient/demo-client")])
            assert client._token == token  # one token for both
            missing = await client.request("GET", "CarePlan/no-such-plan")
            return first.status_code, second.status_code, missing.status_code
        finally:
            await client.close()

    assert asyncio.run(run()) == (200, 200, 404)
    assert any("school-welfare-system" in agent and "demo-role-curator" in agent for agent in _agents(served))


def test_a_system_with_a_key_the_gateway_does_not_know_gets_no_token(served: Settings, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.jwk"
    key = ECKey.generate_key("P-384", parameters={"kid": "school-welfare-system-1"}, private=True)
    stranger.write_text(json.dumps(key.as_dict(private=True)))

    async def run() -> None:
        client = GatewayClient(f"{served.gateway_origin}/fhir", _school(served, stranger))
        try:
            await client.request("GET", "CarePlan/demo-plan")
        finally:
            await client.close()

    with pytest.raises(TokenRefused, match="invalid_client|signature"):
        asyncio.run(run())


def test_no_gateway_is_a_clear_error(served: Settings) -> None:
    async def run() -> None:
        client = GatewayClient("http://127.0.0.1:9/fhir", _school(served), timeout=2.0)
        try:
            await client.request("GET", "CarePlan/demo-plan")
        finally:
            await client.close()

    with pytest.raises(GatewayUnreachable, match="127.0.0.1:9"):
        asyncio.run(run())


def test_a_missing_key_file_is_a_clear_error(served: Settings, tmp_path: Path) -> None:
    async def run() -> None:
        client = GatewayClient(f"{served.gateway_origin}/fhir", _school(served, tmp_path / "nowhere.jwk"))
        try:
            await client.request("GET", "CarePlan/demo-plan")
        finally:
            await client.close()

    with pytest.raises(TokenRefused, match="no readable private key"):
        asyncio.run(run())
