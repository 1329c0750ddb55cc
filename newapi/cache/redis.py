from __future__ import annotations

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from newapi.errors import ServiceUnavailable


class RedisCache:
    """The shared cache for several nodes. Redis errors become :class:`ServiceUnavailable`."""

    def __init__(self, url: str, pool_size: int = 10, wait_seconds: float = 5.0) -> None:
        # A blocking pool makes a burst wait for a free connection instead of failing with
        # "Too many connections" (what redis-py's default pool does past its limit).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max(pool_size, 1), timeout=wait_seconds
        )
        self._redis = aioredis.Redis(connection_pool=pool)

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(key)
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(key, value, px=max(int(ttl * 1000), 1))
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self._redis.delete(*keys)
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def hit(self, key: str, window: int) -> int:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return int(count)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        await self._redis.aclose()
