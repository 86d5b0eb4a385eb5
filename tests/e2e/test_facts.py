"""The facts decisions rest on are read from the store once per client for a whole request.

A batch of many entries about one client makes one consent search (and, for writes, one team
search), not one per entry. Counted on the real HAPI by the client the gateway uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.demo import DemoLoad, demo_bundle
from gateway.store.client import Upstream, UpstreamResponse
from gateway.store.facts import FactsReader

DEMO = [entry["resource"] for entry in demo_bundle()["entry"]]


class CountingUpstream(Upstream):
    """The real client of the store, counting the searches it sends by resource type."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.searches: dict[str, int] = {}

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> UpstreamResponse:
        self.searches[path] = self.searches.get(path, 0) + 1
        return await super().send(method, path, params=params, headers=headers, content=content)


def test_each_clients_facts_are_read_once_per_request(base_url: str, demo: DemoLoad) -> None:
    async def run() -> tuple[dict[str, int], Any, Any]:
        store = CountingUpstream(base_url)
        try:
            reader = FactsReader(store)
            clients = [r for r in DEMO if r["resourceType"] in ("CarePlan", "Goal", "Condition")]
            first = await reader.read(clients * 20)  # fifty-odd resources of one client, as a batch would
            again = await reader.read(clients, teams=True)
            await reader.read(clients, teams=True)
            return store.searches, first, again
        finally:
            await store.close()

    searches, first, again = asyncio.run(run())
    assert searches == {"Consent": 1, "CareTeam": 1}
    assert list(first) == ["Patient/demo-client"] and first["Patient/demo-client"].teams is None
    facts = again["Patient/demo-client"]
    assert facts.consents == first["Patient/demo-client"].consents
    assert facts.teams is not None and [team["id"] for team in facts.teams] == ["demo-team"]
