"""The jti memory: single use, forgetting only after the assertion could no longer pass, bounded."""

from __future__ import annotations

import asyncio
import threading

import pytest

from auth.jti import InMemoryJtiCache, JtiCacheFull
from tests.unit.auth.support import START, ManualClock


def test_a_jti_is_used_once() -> None:
    cache = InMemoryJtiCache(ManualClock())
    assert asyncio.run(cache.first_use("a", "jti-1", START + 60)) is True
    assert asyncio.run(cache.first_use("a", "jti-1", START + 60)) is False


def test_jtis_are_per_client() -> None:
    cache = InMemoryJtiCache(ManualClock())
    assert cache.first_use_now("a", "jti-1", START + 60)
    assert cache.first_use_now("b", "jti-1", START + 60)


def test_a_jti_is_forgotten_only_after_keep_until() -> None:
    clock = ManualClock()
    cache = InMemoryJtiCache(clock)
    assert cache.first_use_now("a", "jti-1", START + 60)
    clock.advance(59.9)
    assert not cache.first_use_now("a", "jti-1", START + 60)
    clock.advance(0.1)
    assert cache.first_use_now("a", "jti-1", START + 120)
    assert len(cache) == 1


def test_a_full_cache_refuses_rather_than_forgets() -> None:
    clock = ManualClock()
    cache = InMemoryJtiCache(clock, max_entries=2)
    assert cache.first_use_now("a", "1", START + 10)
    assert cache.first_use_now("a", "2", START + 20)
    with pytest.raises(JtiCacheFull) as caught:
        cache.first_use_now("a", "3", START + 30)
    assert caught.value.error == "temporarily_unavailable"
    assert not cache.first_use_now("a", "1", START + 10)
    clock.advance(10)
    assert cache.first_use_now("a", "3", START + 30)


def test_concurrent_threads_let_exactly_one_use_through() -> None:
    cache = InMemoryJtiCache(ManualClock())
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def use() -> None:
        barrier.wait()
        results.append(cache.first_use_now("a", "same", START + 60))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_concurrent_tasks_let_exactly_one_use_through() -> None:
    cache = InMemoryJtiCache(ManualClock())

    async def race() -> list[bool]:
        return list(await asyncio.gather(*(cache.first_use("a", "same", START + 60) for _ in range(16))))

    assert sorted(asyncio.run(race())) == [False] * 15 + [True]
