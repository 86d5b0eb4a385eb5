"""Session fixtures: one real HAPI FHIR store for the whole test run.

The store is built (Maven, reused when current) and started once, on a free port with a
private data directory, and stopped at the end. If it cannot be built or started, every test
that needs it errors with HAPI's own log tail: there is no stand-in and no skipping.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.demo import DemoLoad, load_demo
from gateway.settings import Settings
from gateway.store.hapi import HapiError, HapiServer
from tests.ports import free_port


@pytest.fixture(scope="session")
def hapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HapiServer]:
    """A running HAPI with the Yhteys package installed (empty of data)."""
    settings = Settings.from_env().with_changes(
        data_dir=tmp_path_factory.mktemp("yhteys-data"),
        hapi_port=free_port(),
        hapi_db_url="",
    )
    server = HapiServer(settings)
    try:
        server.build()
        server.start()
    except HapiError as exc:
        pytest.fail(f"HAPI FHIR could not be built or started: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(hapi: HapiServer) -> str:
    return hapi.settings.hapi_base_url


@pytest.fixture(scope="session")
def fhir(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client on the HAPI FHIR base, asking for FHIR JSON."""
    with httpx.Client(
        base_url=base_url,
        timeout=120.0,
        headers={"Accept": "application/fhir+json"},
    ) as client:
        yield client


@pytest.fixture(scope="session")
def demo(fhir: httpx.Client, base_url: str) -> DemoLoad:
    """The demo loaded once into the session's store."""
    return load_demo(fhir, base_url)
