"""Fixtures of the gateway e2e tests: the store's own statement and an in-process gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.audit.chain import CheckpointKey
from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.demo import DemoLoad
from tests.e2e.gateway_harness import PUBLIC_BASE, Client, Gateway, copy_demo_client


@pytest.fixture(scope="session")
def store_statement(fhir: httpx.Client) -> dict[str, Any]:
    """HAPI's CapabilityStatement (the resource types and search parameters it serves)."""
    statement: dict[str, Any] = fhir.get("/metadata").json()
    return statement


@pytest.fixture
def call(base_url: str, store_statement: dict[str, Any], demo: DemoLoad, tmp_path: Path) -> Gateway:
    """The gateway in-process on the session's HAPI with the demo loaded; its own audit trail."""
    trail = AuditTrail(AuditStore.sqlite(tmp_path / "audit.sqlite"), CheckpointKey.load(tmp_path / "key.pem"), server=PUBLIC_BASE)
    return Gateway(base_url, store_statement, trail)


@pytest.fixture
def client(fhir: httpx.Client, demo: DemoLoad) -> Client:
    """A fresh copy of the demo client's data, so that a test's writes touch only its own."""
    return copy_demo_client(fhir)
