"""The change feed: what one process announces, every process sharing Redis hears."""

from __future__ import annotations

import asyncio

from newapi.cache import MemoryCache, RedisCache
from tests.support.services import redis_database


async def test_redis_announcements_reach_every_follower() -> None:
    async with redis_database() as url:
        speaker, listeners = RedisCache(url), [RedisCache(url), RedisCache(url)]
        heard: list[list[str]] = [[], []]

        async def follow(index: int) -> None:
            async for topic in listeners[index].changes():
                heard[index].append(topic)

        tasks = [asyncio.create_task(follow(i)) for i in range(2)]
        try:
            await asyncio.sleep(0.3)  # subscribed
            await speaker.announce("channels")
            await speaker.announce("options")
            for _ in range(50):
                if all(len(topics) == 2 for topics in heard):
                    break
                await asyncio.sleep(0.05)
            assert heard == [["channels", "options"], ["channels", "options"]]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for cache in (speaker, *listeners):
                await cache.close()


async def test_memory_has_nobody_to_tell() -> None:
    cache = MemoryCache()
    await cache.announce("channels")
    assert [topic async for topic in cache.changes()] == []
