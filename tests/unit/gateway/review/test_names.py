"""The name directory: references resolved in batches, cached for the stated TTL by an injected
clock, and shown as references (never a guess) when the store cannot answer.

The store is a recording stand-in for the `Fetch` seam (resources by type and id, as the demo
bundle holds them); the real searches against HAPI are exercised by tests/e2e/test_audit_console.py.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from gateway.demo import demo_bundle
from gateway.review.names import BATCH, Named, NameDirectory, Names

YOUTH_WORKER = "PractitionerRole/demo-role-youth-worker"
CURATOR = "PractitionerRole/demo-role-curator"
YOUTH_ORG = "Organization/demo-org-youth-services"
SYSTEMS = {"youth-system": "Nuorisopalvelujen asiakasjärjestelmä (demo)"}


class Store:
    """Resources by reference, answering `Fetch`; records every call; `down` makes it fail."""

    def __init__(self, resources: Iterable[Mapping[str, Any]]) -> None:
        self.resources = {f"{r['resourceType']}/{r['id']}": copy.deepcopy(dict(r)) for r in resources}
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.down = False

    async def fetch(self, resource_type: str, ids: Sequence[str]) -> Sequence[Mapping[str, object]]:
        self.calls.append((resource_type, tuple(ids)))
        if self.down:
            raise ConnectionError("the store does not answer")
        found = [self.resources[f"{resource_type}/{i}"] for i in ids if f"{resource_type}/{i}" in self.resources]
        return copy.deepcopy(found)  # as read off the wire: later changes to the store are not in it


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Store:
    return Store(e["resource"] for e in demo_bundle()["entry"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _names(directory: NameDirectory, *references: str) -> Names:
    return asyncio.run(directory.names(references))


def test_professionals_organisations_and_systems_are_named(store: Store, clock: Clock) -> None:
    names = _names(NameDirectory(store.fetch, SYSTEMS, ttl=60, clock=clock), YOUTH_WORKER, YOUTH_ORG, "Patient/x")
    worker = names.of(YOUTH_WORKER)
    assert worker == Named("Tuomas Väisänen", ("Nuorisotyöntekijä", "Ungdomsarbetare", "Youth worker"))
    assert worker is not None and worker.title_in("sv") == "Ungdomsarbetare"
    assert names.of(YOUTH_ORG) == Named("Demo kaupunki, nuorisopalvelut")
    assert names.of("Patient/x") is None  # not a kind the pages name
    assert names.system("youth-system") == "Nuorisopalvelujen asiakasjärjestelmä (demo)"
    assert names.system("psychiatry-ehr") == ""  # no name registered: the client id stands


def test_a_page_costs_one_search_per_type(store: Store, clock: Clock) -> None:
    directory = NameDirectory(store.fetch, {}, ttl=60, clock=clock)
    roles = [YOUTH_WORKER, CURATOR, "PractitionerRole/demo-role-psych-nurse"]
    _names(directory, *roles, *roles, YOUTH_ORG, "Organization/demo-org-psychiatry")
    assert sorted(store.calls) == [
        ("Organization", ("demo-org-psychiatry", "demo-org-youth-services")),
        ("Practitioner", ("demo-pr-curator", "demo-pr-psych-nurse", "demo-pr-youth-worker")),
        ("PractitionerRole", ("demo-role-curator", "demo-role-psych-nurse", "demo-role-youth-worker")),
    ]


def test_many_ids_are_read_in_batches(store: Store, clock: Clock) -> None:
    many = [f"Organization/org-{n}" for n in range(BATCH * 2 + 1)]
    _names(NameDirectory(store.fetch, {}, ttl=60, clock=clock), *many)
    assert [len(ids) for _, ids in store.calls] == [BATCH, BATCH, 1]


def test_names_are_cached_no_longer_than_the_ttl(store: Store, clock: Clock) -> None:
    directory = NameDirectory(store.fetch, {}, ttl=60, clock=clock)
    assert _names(directory, YOUTH_ORG).of(YOUTH_ORG) == Named("Demo kaupunki, nuorisopalvelut")
    store.resources[YOUTH_ORG]["name"] = "Demo kaupunki, nuorisotoimi"  # renamed in the store
    clock.now += 59.9
    assert _names(directory, YOUTH_ORG).of(YOUTH_ORG) == Named("Demo kaupunki, nuorisopalvelut")  # still cached
    assert len(store.calls) == 1
    clock.now += 0.1  # 60 s after the read: the name is read again
    assert _names(directory, YOUTH_ORG).of(YOUTH_ORG) == Named("Demo kaupunki, nuorisotoimi")
    assert len(store.calls) == 2


def test_a_deleted_resource_is_shown_by_its_reference_once_the_ttl_has_passed(store: Store, clock: Clock) -> None:
    directory = NameDirectory(store.fetch, {}, ttl=60, clock=clock)
    assert _names(directory, YOUTH_WORKER).of(YOUTH_WORKER) is not None
    del store.resources[YOUTH_WORKER]
    clock.now += 60
    assert _names(directory, YOUTH_WORKER).of(YOUTH_WORKER) is None
    calls = len(store.calls)
    assert _names(directory, YOUTH_WORKER).of(YOUTH_WORKER) is None  # its absence is cached too
    assert len(store.calls) == calls


def test_a_ttl_of_zero_reads_every_time(store: Store, clock: Clock) -> None:
    directory = NameDirectory(store.fetch, {}, ttl=0, clock=clock)
    for _ in range(3):
        assert _names(directory, YOUTH_ORG).of(YOUTH_ORG) == Named("Demo kaupunki, nuorisopalvelut")
    assert len(store.calls) == 3


def test_the_store_down_shows_references_and_caches_nothing(store: Store, clock: Clock) -> None:
    directory = NameDirectory(store.fetch, SYSTEMS, ttl=60, clock=clock)
    store.down = True
    names = _names(directory, YOUTH_WORKER, YOUTH_ORG)
    assert names.resolved == {} and names.system("youth-system") == SYSTEMS["youth-system"]
    store.down = False  # back: the next page reads again, at once
    assert _names(directory, YOUTH_WORKER).of(YOUTH_WORKER) == Named(
        "Tuomas Väisänen", ("Nuorisotyöntekijä", "Ungdomsarbetare", "Youth worker")
    )


def test_a_store_that_does_not_answer_in_time_shows_references(store: Store, clock: Clock) -> None:
    async def hanging(resource_type: str, ids: Sequence[str]) -> Sequence[Mapping[str, object]]:
        await asyncio.sleep(60)
        return await store.fetch(resource_type, ids)

    directory = NameDirectory(hanging, {}, ttl=60, clock=clock, timeout=0.05)
    started = time.monotonic()
    assert _names(directory, YOUTH_WORKER, YOUTH_ORG).resolved == {}
    assert time.monotonic() - started < 5


def test_a_role_whose_practitioner_cannot_be_read_keeps_its_title(store: Store, clock: Clock) -> None:
    del store.resources["Practitioner/demo-pr-youth-worker"]
    names = _names(NameDirectory(store.fetch, {}, ttl=60, clock=clock), YOUTH_WORKER)
    assert names.of(YOUTH_WORKER) == Named("", ("Nuorisotyöntekijä", "Ungdomsarbetare", "Youth worker"))


def test_names_are_read_as_the_resources_give_them(store: Store, clock: Clock) -> None:
    store.resources["Practitioner/demo-pr-youth-worker"]["name"] = [
        {"use": "old", "family": "Virtanen", "given": ["Tuomas"]},
        {"use": "official", "family": "Väisänen", "given": ["Tuomas", "Juhani"]},
    ]
    role = store.resources[CURATOR]
    role["code"] = [{"coding": [{"system": "urn:oid:1.2.246.537.6.1", "code": "x", "display": "Kuraattori"}]}]
    store.resources["Practitioner/demo-pr-curator"]["name"] = [{"text": " Laura H. "}]
    store.resources[YOUTH_ORG]["name"] = "   "  # no name: the reference stands
    names = _names(NameDirectory(store.fetch, {}, ttl=60, clock=clock), YOUTH_WORKER, CURATOR, YOUTH_ORG)
    assert names.of(YOUTH_WORKER) == Named(
        "Tuomas Juhani Väisänen", ("Nuorisotyöntekijä", "Ungdomsarbetare", "Youth worker")
    )
    assert names.of(CURATOR) == Named("Laura H.", ("Kuraattori", "Kuraattori", "Kuraattori"))
    assert names.of(YOUTH_ORG) is None


def test_a_negative_ttl_or_no_timeout_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="ttl"):
        NameDirectory(store.fetch, {}, ttl=-1)
    with pytest.raises(ValueError, match="timeout"):
        NameDirectory(store.fetch, {}, ttl=60, timeout=0)
