"""The gateway's client of the FHIR store, against the real HAPI."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from gateway.demo import DemoLoad
from gateway.errors import UpstreamUnavailable
from gateway.store.client import Upstream, UpstreamResponse
from tests.ports import free_port


def _send(
    base_url: str,
    method: str,
    path: str,
    params: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> UpstreamResponse:
    async def run() -> UpstreamResponse:
        upstream = Upstream(base_url, timeout=30.0)
        try:
            return await upstream.send(method, path, params=params, headers=headers)
        finally:
            await upstream.close()

    return asyncio.run(run())


def test_read_returns_status_etag_and_body(base_url: str, demo: DemoLoad) -> None:
    response = _send(base_url, "GET", "CarePlan/demo-plan", headers={"Accept": "application/fhir+json"})
    assert response.status == 200
    assert response.headers["etag"].startswith('W/"')
    assert response.json()["id"] == "demo-plan"


def test_search_params_are_forwarded(base_url: str, demo: DemoLoad) -> None:
    response = _send(base_url, "GET", "Goal", params=[("subject", "Patient/demo-client"), ("_count", "2")])
    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert len(bundle["entry"]) == 2


def test_missing_resource_is_returned_not_raised(base_url: str, demo: DemoLoad) -> None:
    assert _send(base_url, "GET", "CarePlan/no-such-plan").status == 404


def test_a_store_that_does_not_answer_is_503() -> None:
    with pytest.raises(UpstreamUnavailable):
        _send(f"http://127.0.0.1:{free_port()}/fhir", "GET", "metadata")
