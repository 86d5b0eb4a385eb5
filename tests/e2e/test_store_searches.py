"""Searches the store keeps for paging expire and are swept away; the gateway's own reads keep none.

Against a HAPI of this module's own (one more start, about 50 s), with stored searches expiring
after `YHTEYS_SEARCH_EXPIRY_SECONDS=2` and the sweep running every `YHTEYS_SEARCH_SWEEP_SECONDS=1`,
and HAPI's search cache logging at DEBUG. H2 lets only one process open its file, so HFJ_SEARCH is
read through HAPI's own words: each sweep that deletes anything logs "Deleted <n> searches, <m>
remaining", where m counts the HFJ_SEARCH rows left. The tests count every stored search they make
(searches with more matches than their `_count`, so with a `next` link) and check that the sweeps deleted exactly that many
and left none, so a search the gateway asked not to be stored would show up as one deleted too many.

This proves that:

- a stored search answers its `next` link at once and, after expiry and a sweep, answers 410 Gone
  with HFJ_SEARCH empty;
- the gateway's own reads (`gateway.store.search.search_all`: `Cache-Control: no-store`) come
  back whole in one page and store no search at all;
- the H2 file stops growing: once H2's retention time has passed, further rounds of stored
  searches, each swept, leave the file as large as it was (see
  `test_the_h2_file_stops_growing_when_searches_are_swept` for the numbers).

And, against the session's HAPI with the demo loaded, that a self-read whose one page is full fails
closed: the consents are unreadable (the consent decider denies) and the care teams answer 503.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from gateway.access.consent.decider import ConsentUnreadable
from gateway.demo import DemoLoad, demo_bundle
from gateway.errors import UpstreamUnavailable
from gateway.settings import Settings
from gateway.store.client import Upstream
from gateway.store.facts import FactsReader
from gateway.store.hapi import HapiError, HapiServer
from gateway.store.search import search_all
from tests.fhirjson import FHIR_JSON
from tests.ports import free_port

EXPIRY_SECONDS = 2
SWEEP_SECONDS = 1
SWEPT_WITHIN = 30.0
"""Seconds to wait for the sweeps to catch up: expiry + sweep is 3 s, the rest is for a loaded machine."""

H2_RETENTION_SECONDS = 45.0
"""H2's default RETENTION_TIME: freed file space is reused only after this long."""

_SWEPT = re.compile(r"Deleted (\d+) searches, (\d+) remaining")


class _Store:
    """The module's HAPI, with the stored searches made on it counted and its sweeps read from its log."""

    def __init__(self, hapi: HapiServer, client: httpx.Client) -> None:
        self.hapi = hapi
        self.client = client
        self.stored = 0
        self.h2_file = hapi.settings.data_dir / "hapi" / "h2.mv.db"

    def stored_search(self, kind: str = "StructureDefinition", params: Mapping[str, str] | None = None) -> str:
        """Run one search HAPI stores for paging (one with more matches than `_count`); its `next` link."""
        return self.stored_page(kind, params)[1]

    def stored_page(
        self, kind: str = "StructureDefinition", params: Mapping[str, str] | None = None
    ) -> tuple[Mapping[str, Any], str]:
        """`stored_search`, with the first page (a searchset Bundle) as well."""
        response = self.client.get(f"/{kind}", params=params or {"_count": "1", "_elements": "url"})
        assert response.status_code == 200, response.text
        self.stored += 1  # every search without Cache-Control: no-store is stored, one with a next link too
        bundle = response.json()
        following = _next_link(bundle)
        assert following is not None, response.text
        return bundle, following

    def load_basics(self, count: int) -> int:
        """Store `count` Basic resources (a type no profile of ours covers) in one transaction; how many."""
        entry = {
            "resource": {"resourceType": "Basic", "code": {"text": "load"}},
            "request": {"method": "POST", "url": "Basic"},
        }
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry] * count}
        response = self.client.post("", json=bundle, headers=FHIR_JSON, timeout=300.0)
        assert response.status_code == 200, response.text
        return len(response.json()["entry"])

    def sweeps(self) -> list[tuple[int, int]]:
        """Every sweep that deleted searches, in order: (searches deleted, HFJ_SEARCH rows left)."""
        log = self.hapi.log_file.read_text(encoding="utf-8", errors="replace")
        return [(int(deleted), int(left)) for deleted, left in _SWEPT.findall(log)]

    def wait_until_swept(self) -> list[tuple[int, int]]:
        """Wait until the sweeps deleted every stored search made so far; assert they deleted no
        more than those and left HFJ_SEARCH empty. Returns the sweeps."""
        deadline = time.monotonic() + SWEPT_WITHIN
        while sum(deleted for deleted, _ in self.sweeps()) < self.stored:
            assert time.monotonic() < deadline, f"{self.stored} stored searches, swept: {self.sweeps()}"
            time.sleep(0.2)
        sweeps = self.sweeps()
        assert sum(deleted for deleted, _ in sweeps) == self.stored, sweeps
        assert sweeps[-1][1] == 0, sweeps
        return sweeps


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    links = [link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"]
    assert len(links) <= 1, bundle
    return links[0] if links else None


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Store]:
    """A HAPI of its own whose stored searches expire after 2 s, swept every second."""
    settings = Settings.from_env().with_changes(
        data_dir=tmp_path_factory.mktemp("swept-store"), hapi_port=free_port(), hapi_db_url=""
    )
    hapi = HapiServer(settings)
    with pytest.MonkeyPatch.context() as env:  # HAPI inherits the environment it is started in
        env.setenv("YHTEYS_SEARCH_EXPIRY_SECONDS", str(EXPIRY_SECONDS))
        env.setenv("YHTEYS_SEARCH_SWEEP_SECONDS", str(SWEEP_SECONDS))
        env.setenv("LOGGING_LEVEL_CA_UHN_FHIR_JPA_SEARCH_CACHE", "DEBUG")
        try:
            hapi.build()
            hapi.start()
        except HapiError as exc:
            pytest.fail(f"HAPI FHIR could not be built or started: {exc}", pytrace=False)
    try:
        with httpx.Client(
            base_url=settings.hapi_base_url, timeout=60.0, headers={"Accept": "application/fhir+json"}
        ) as client:
            yield _Store(hapi, client)
    finally:
        hapi.stop()


@pytest.mark.slow
def test_a_stored_search_is_gone_after_expiry_and_a_sweep(store: _Store) -> None:
    """Waiting on the log, not on the link: fetching a page is a use and would keep the search."""
    following = store.stored_search()
    assert store.client.get(following).status_code == 200  # stored: its next page is there
    store.wait_until_swept()
    gone = store.client.get(following)
    assert gone.status_code == 410, gone.text
    assert "does not exist and may have expired" in gone.text


@pytest.mark.slow
def test_the_gateways_own_reads_store_no_search(store: _Store) -> None:
    store.wait_until_swept()
    unstored = 25

    async def read() -> list[int]:
        upstream = Upstream(store.hapi.settings.hapi_base_url, timeout=30.0)
        try:
            return [
                len(await search_all(upstream, "StructureDefinition", {"_elements": "url"})) for _ in range(unstored)
            ]
        finally:
            await upstream.close()

    found = asyncio.run(read())
    # Then one stored search, younger than the reads: a sweep deletes it, and any row the reads left, no later.
    first_page, _ = store.stored_page(params={"_count": "1", "_elements": "url", "_total": "accurate"})
    assert first_page["total"] > 1
    assert found == [first_page["total"]] * unstored  # whole, in one page each
    store.wait_until_swept()  # exactly the stored one deleted: the 25 reads stored nothing


@pytest.mark.slow
def test_the_h2_file_stops_growing_when_searches_are_swept(store: _Store) -> None:
    """Rounds of 50 stored searches over 1,000 Basic resources (`_count=200`, so HAPI stores some
    500 results of each), each round swept before the next; about 60 s of rounds in all.

    H2 (MVStore) reuses the space the sweep frees, but only once H2's retention time (45 s by
    default; left as it is, since a shorter one risks a corrupt file) has passed since it was
    freed; it gives none back while HAPI runs (it compacts the file when it is closed: measured
    71 MB → 15 MB). So the file grows at first and then holds. Measured on this assembly, with the
    sweep: the file grew by about 7 MB over the first 26 s of rounds, then stayed at exactly the
    same size over the next two minutes of rounds (20 more). Without the sweep (a HAPI with the default
    600 s expiry), each round grew it by 2 to 3 MB (63.1 → 66.3 → 69.3 → 71.1 MB). The bound
    asserted: after 45 s of rounds, three more rounds end within 1 MiB of the size then.
    """
    assert store.load_basics(1000) == 1000

    def swept_round() -> int:
        for _ in range(50):
            store.stored_search("Basic", {"_count": "200", "_elements": "id"})
        store.wait_until_swept()
        return store.h2_file.stat().st_size

    started = time.monotonic()
    while time.monotonic() - started < H2_RETENTION_SECONDS:
        held = swept_round()
    later = [swept_round() for _ in range(3)]
    assert all(size <= held + 1024 * 1024 for size in later), (held, later)


# -- a full page of the gateway's own reads, on the session's store --------------------------------


def test_a_full_page_leaves_consents_unreadable_and_care_teams_unavailable(base_url: str, demo: DemoLoad) -> None:
    """The demo client has one active Consent and one active CareTeam: with one to a page, either
    page is full and may hide more, so neither is read as if it were all."""
    client_resources = [e["resource"] for e in demo_bundle()["entry"] if e["resource"]["resourceType"] == "Goal"]

    async def read() -> tuple[object, Exception | None]:
        upstream = Upstream(base_url, timeout=30.0)
        try:
            facts = await FactsReader(upstream, page_size=1).read(client_resources)
            try:
                await FactsReader(upstream, page_size=1).read(client_resources, teams=True)
            except UpstreamUnavailable as exc:
                return facts["Patient/demo-client"].consents, exc
            return facts["Patient/demo-client"].consents, None
        finally:
            await upstream.close()

    consents, teams_failure = asyncio.run(read())
    assert isinstance(consents, ConsentUnreadable) and "more than one page holds" in consents.why
    assert isinstance(teams_failure, UpstreamUnavailable) and teams_failure.status_code == 503
    assert "care team could not be read" in teams_failure.message
