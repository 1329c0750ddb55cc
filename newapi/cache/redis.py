from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from newapi.errors import ServiceUnavailable

# Take ARGV[1] from every balance in KEYS only if all are loaded and each holds enough.
_RESERVE = """
local amount = tonumber(ARGV[1])
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do
  if not values[i] then return -2 end
end
for i = 1, #KEYS do
  if tonumber(values[i]) < amount then return i - 1 end
end
for i = 1, #KEYS do
  redis.call('DECRBY', KEYS[i], amount)
end
return -1
"""

_ADJUST = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""

# Sliding-window logs as sorted sets (member -> time added, ms on the Redis clock, so nodes
# with skewed clocks agree). KEYS: the logs; ARGV: window ms, member, then each log's limit.
# Numbers reach Redis as formatted strings: Lua's default "%.14g" would round the scores.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local cutoff = string.format('%d', now - window)
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', cutoff)
end
for i = 1, #KEYS do
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[i + 2]) then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    if oldest[2] then
      return {i - 1, tonumber(oldest[2]) + window - now}
    end
    return {i - 1, window}
  end
end
local stamp = string.format('%d', now)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], stamp, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return {-1, 0}
"""


# Seconds to connect, to get an answer, and to wait for a free connection of the pool: a hung
# or unreachable Redis answers 503 within about twice this (Redis answers in microseconds).
TIMEOUT = 2.0

# Every process sharing the Redis hears on this channel which shared state an admin changed.
CHANGES_CHANNEL = "newapi:changes"


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob (SCAN MATCH)."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


class RedisCache:
    """The shared cache for several nodes. Redis errors become :class:`ServiceUnavailable`."""

    def __init__(self, url: str, pool_size: int = 10, timeout: float = TIMEOUT) -> None:
        # A blocking pool makes a burst wait for a free connection instead of failing with
        # "Too many connections" (what redis-py's default pool does past its limit).
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max(pool_size, 1),
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        self._reserve = self._redis.register_script(_RESERVE)
        self._adjust = self._redis.register_script(_ADJUST)
        self._admit = self._redis.register_script(_ADMIT)

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

    async def keys(self, prefix: str) -> list[str]:
        pattern = _glob_escape(prefix) + "*"
        try:
            found = [key async for key in self._redis.scan_iter(match=pattern, count=1000)]
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return [key.decode(errors="replace") if isinstance(key, bytes) else key for key in found]

    async def hit(self, key: str, window: int) -> int:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return int(count)

    async def reserve(self, keys: Sequence[str], amount: int) -> int:
        try:
            result = await self._reserve(keys=list(keys), args=[amount])
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return int(result)

    async def load_balance(self, key: str, value: int, ttl: float | None) -> None:
        try:
            if ttl is None:
                await self._redis.set(key, value, nx=True)
            else:
                await self._redis.set(key, value, nx=True, px=max(int(ttl * 1000), 1))
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def adjust(self, key: str, delta: int) -> None:
        try:
            await self._adjust(keys=[key], args=[delta])
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def admit(
        self, keys: Sequence[str], limits: Sequence[int], window: float, member: str
    ) -> tuple[int, float]:
        window_ms = max(int(window * 1000), 1)
        try:
            index, wait_ms = await self._admit(keys=list(keys), args=[window_ms, member, *limits])
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return int(index), max(int(wait_ms), 0) / 1000

    async def forget(self, key: str, member: str) -> None:
        try:
            await self._redis.zrem(key, member)
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        await self._redis.aclose()

    async def announce(self, topic: str) -> None:
        try:
            await self._redis.publish(CHANGES_CHANNEL, topic)
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def changes(self) -> AsyncIterator[str]:
        """Pub/sub on one connection of the pool, held while it is followed."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANGES_CHANNEL)
            async for message in pubsub.listen():
                data = message.get("data")
                if isinstance(data, bytes):
                    yield data.decode(errors="replace")
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        finally:
            await pubsub.aclose()
