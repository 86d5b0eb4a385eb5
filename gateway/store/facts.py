"""The facts access decisions rest on, read from the store for one request, once per client.

`FactsReader(store)` lives for one request (a batch or transaction included: every entry
shares it). `await reader.read(resources, teams=...)` returns the `ClientFacts` of every
client the resources belong to, reading from the store only what this request has not read
yet: the client's active consents (`gateway.store.consents.read_consents`) and, with
`teams`, the client's active CareTeams. Nothing is cached beyond the request, on purpose: a
withdrawn consent or a handed-over personal worker applies to the very next request.

Each read is one page the store does not keep (`gateway.store.search`: `Cache-Control:
no-store`, at most `page_size` matches); a full page counts as unreadable, since it may hide
more. Consents that cannot be read are a value (`ConsentUnreadable`: the consent decider denies);
teams that cannot be read raise `UpstreamUnavailable` (503), so nothing is changed on a guess.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.access.decider import ClientFacts
from gateway.access.subjects import patient_of
from gateway.errors import UpstreamUnavailable
from gateway.store.client import Upstream
from gateway.store.consents import read_consents
from gateway.store.search import PAGE_SIZE, SearchFailed, search_all

__all__ = ["FactsReader"]


class FactsReader:
    """The facts of one request's clients, read from `store` at most once per client.

    Requires 1 <= `page_size` <= the store's largest page; fewer matches than that are read whole.
    """

    def __init__(self, store: Upstream, *, page_size: int = PAGE_SIZE) -> None:
        self._store = store
        self._page_size = page_size
        self._facts: dict[str, ClientFacts] = {}

    async def read(self, resources: Sequence[Mapping[str, Any]], *, teams: bool = False) -> Mapping[str, ClientFacts]:
        """The facts of every client `resources` belong to (with their teams, if `teams`)."""
        patients = sorted({p for p in (patient_of(resource) for resource in resources) if isinstance(p, str)})
        consents = [p for p in patients if p not in self._facts]
        for patient, found in zip(
            consents,
            await asyncio.gather(*(read_consents(self._store, p, page_size=self._page_size) for p in consents)),
            strict=True,
        ):
            self._facts[patient] = ClientFacts(found)
        if teams:
            missing = [p for p in patients if self._facts[p].teams is None]
            for patient, found_teams in zip(
                missing, await asyncio.gather(*(self._teams(p) for p in missing)), strict=True
            ):
                self._facts[patient] = ClientFacts(self._facts[patient].consents, found_teams)
        return {patient: self._facts[patient] for patient in patients}

    def clients(self) -> tuple[str, ...]:
        """The clients whose facts this request read (whose data it touched), sorted."""
        return tuple(sorted(self._facts))

    async def _teams(self, patient: str) -> tuple[Mapping[str, Any], ...]:
        try:
            params = {"subject": patient, "status": "active"}
            found = await search_all(self._store, "CareTeam", params, page_size=self._page_size)
        except SearchFailed as exc:
            raise UpstreamUnavailable("the client's care team could not be read, so nothing is changed") from exc
        return tuple(found)
