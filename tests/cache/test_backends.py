"""Both cache backends honour one contract: values, TTLs, deletes and fixed-window counters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from newapi.cache import Cache, MemoryCache, RedisCache
from newapi.cache.entities import EntityCache
from tests.support.services import redis_database


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        backend: Cache = MemoryCache(max_entries=50)
        yield backend
        await backend.close()
        return
    async with redis_database() as url:
        backend = RedisCache(url)
        yield backend
        await backend.close()


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("a") is None
    await cache.set("a", b"1", ttl=10)
    await cache.set("b", b"2", ttl=10)
    assert await cache.get("a") == b"1"
    await cache.delete("a", "b", "missing")
    assert await cache.get("a") is None and await cache.get("b") is None


async def test_keys_by_prefix_taken_literally(cache: Cache) -> None:
    await cache.set("aff:r*1:x", b"1", ttl=10)
    await cache.set("aff:r*1:y", b"1", ttl=10)
    await cache.set("aff:r21:z", b"1", ttl=10)  # "*" must not match as a glob
    await cache.set("aff:gone", b"1", ttl=0.05)
    await cache.set("other", b"1", ttl=10)
    await asyncio.sleep(0.1)
    assert sorted(await cache.keys("aff:r*1:")) == ["aff:r*1:x", "aff:r*1:y"]
    assert sorted(await cache.keys("aff:")) == ["aff:r*1:x", "aff:r*1:y", "aff:r21:z"]
    assert await cache.keys("none:") == []


async def test_ttl_expires(cache: Cache) -> None:
    await cache.set("short", b"x", ttl=0.2)
    assert await cache.get("short") == b"x"
    await asyncio.sleep(0.35)
    assert await cache.get("short") is None


async def test_fixed_window_counter(cache: Cache) -> None:
    counts = [await cache.hit("rl:test", window=1) for _ in range(3)]
    assert counts == [1, 2, 3]
    await asyncio.sleep(1.2)
    assert await cache.hit("rl:test", window=1) == 1


async def test_concurrent_hits_are_all_counted(cache: Cache) -> None:
    counts = await asyncio.gather(*(cache.hit("rl:burst", window=30) for _ in range(200)))
    assert sorted(counts) == list(range(1, 201))


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    for index in range(5):
        await cache.set(f"k{index}", b"v", ttl=60)
    assert [await cache.get(f"k{i}") for i in range(5)] == [None, None, b"v", b"v", b"v"]


async def test_entity_cache_names_tokens_by_hmac(cache: Cache) -> None:
    entities = EntityCache(cache, crypto_secret="s3cret", ttl=60)
    other = EntityCache(cache, crypto_secret="another", ttl=60)
    raw_key = "A" * 48
    assert raw_key not in entities.token_key(raw_key)
    assert entities.token_key(raw_key) != other.token_key(raw_key)
    await entities.put_token(raw_key, {"id": 7, "remain_quota": 5})
    assert await entities.get_token(raw_key) == {"id": 7, "remain_quota": 5}
    assert await other.get_token(raw_key) is None
    await entities.put_user(3, {"id": 3, "quota": 1})
    await entities.invalidate(token_keys=(raw_key,), user_ids=(3,))
    assert await entities.get_token(raw_key) is None and await entities.get_user(3) is None


async def test_reserve_needs_loaded_balances(cache: Cache) -> None:
    assert await cache.reserve(["quota:a", "quota:b"], 5) == -2
    await cache.load_balance("quota:a", 10, ttl=None)
    assert await cache.reserve(["quota:a", "quota:b"], 5) == -2
    await cache.load_balance("quota:b", 3, ttl=None)
    assert await cache.reserve(["quota:a", "quota:b"], 5) == 1  # b is short: nothing taken
    assert await cache.reserve(["quota:a", "quota:b"], 3) == -1
    assert await cache.reserve(["quota:a"], 8) == 0  # a holds 7 now
    await cache.adjust("quota:a", 1)
    assert await cache.reserve(["quota:a"], 8) == -1
    await cache.adjust("quota:missing", 5)
    assert await cache.reserve(["quota:missing"], 1) == -2


async def test_load_balance_keeps_the_first_loader(cache: Cache) -> None:
    await cache.load_balance("quota:c", 10, ttl=None)
    await cache.load_balance("quota:c", 999, ttl=None)
    assert await cache.reserve(["quota:c"], 11) == 0
    await cache.delete("quota:c")
    assert await cache.reserve(["quota:c"], 1) == -2


async def test_concurrent_reservations_never_overdraw(cache: Cache) -> None:
    await cache.load_balance("quota:d", 50, ttl=None)
    results = await asyncio.gather(*(cache.reserve(["quota:d"], 1) for _ in range(200)))
    assert results.count(-1) == 50 and results.count(0) == 150


# ---- sliding-window logs (the model request rate limit) ----------------------------------------


async def test_sliding_log_admits_up_to_the_limit_then_slides(cache: Cache) -> None:
    assert await cache.admit(["log:a"], [3], 0.6, "m1") == (-1, 0.0)
    await asyncio.sleep(0.3)
    assert [(await cache.admit(["log:a"], [3], 0.6, m))[0] for m in ("m2", "m3")] == [-1, -1]
    index, wait = await cache.admit(["log:a"], [3], 0.6, "m4")
    assert index == 0 and 0.2 < wait <= 0.31  # m1 leaves 0.6 s after it came
    await asyncio.sleep(wait + 0.05)
    # Only m1 has left: one place, not a fresh window of three.
    assert (await cache.admit(["log:a"], [3], 0.6, "m5"))[0] == -1
    assert (await cache.admit(["log:a"], [3], 0.6, "m6"))[0] == 0


async def test_admit_adds_to_all_logs_or_none(cache: Cache) -> None:
    assert (await cache.admit(["log:t", "log:s"], [3, 1], 60, "a"))[0] == -1
    index, wait = await cache.admit(["log:t", "log:s"], [3, 1], 60, "b")
    assert index == 1 and 59 < wait <= 60
    # "b" was refused by the second log, so it took no place in the first one either.
    assert [(await cache.admit(["log:t"], [3], 60, m))[0] for m in ("c", "d", "e")] == [-1, -1, 0]


async def test_forget_gives_the_place_back(cache: Cache) -> None:
    assert (await cache.admit(["log:f"], [1], 60, "a"))[0] == -1
    assert (await cache.admit(["log:f"], [1], 60, "b"))[0] == 0
    await cache.forget("log:f", "a")
    await cache.forget("log:f", "missing")
    await cache.forget("log:nothing", "a")
    assert (await cache.admit(["log:f"], [1], 60, "b"))[0] == -1
    await cache.delete("log:f")
    assert (await cache.admit(["log:f"], [1], 60, "c"))[0] == -1


async def test_concurrent_admissions_take_exactly_the_limit(cache: Cache) -> None:
    results = await asyncio.gather(
        *(cache.admit(["log:c1", "log:c2"], [500, 40], 60, f"m{i}") for i in range(200))
    )
    assert [index for index, _ in results].count(-1) == 40
    assert {index for index, _ in results} == {-1, 1}
