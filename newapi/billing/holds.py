"""Reservations held in Redis, recorded per process so a dead process's are given back.

With Redis, a reservation is taken from balances that every process shares. A process killed
between reserve and settle would keep that amount out of the balance for good. So each hold is
written, in the same Lua call that takes it, to the process's hash ``newapi:journal:<instance>:
holds``; the settlement corrects the balances and drops the hold in one call too. When a live
process adopts a dead one's journal (its lease lapsed), it gives back every hold still in the
hash (less the final charge of those its journal shows settled) and deletes the hash, again
in one call: no hold is returned twice or lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from newapi.errors import ServiceUnavailable

# KEYS[1]: the holds hash, KEYS[2..]: balances. ARGV: hold id, amount, hold record.
# The balance check is the cache's reserve (newapi.cache.redis): -2 unloaded, i >= 0 short.
_TAKE = """
local amount = tonumber(ARGV[2])
local values = redis.call('MGET', unpack(KEYS, 2))
for i = 2, #KEYS do
  if not values[i - 1] then return -2 end
end
for i = 2, #KEYS do
  if tonumber(values[i - 1]) < amount then return i - 2 end
end
for i = 2, #KEYS do
  redis.call('DECRBY', KEYS[i], amount)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return -1
"""

# KEYS[1]: the holds hash, KEYS[2..]: balances. ARGV: hold id, delta (refund > 0).
_SETTLE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local delta = tonumber(ARGV[2])
if delta ~= 0 then
  for i = 2, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], delta) end
  end
end
return 1
"""

# KEYS[1]: a dead process's holds hash; ARGV[1]: {hold id: final quota} of the holds its
# journal shows settled. Each hold goes back to the balances still loaded: the reserved amount,
# less the final charge when the settlement is journaled (killed between the two steps).
_GIVE_BACK = """
local settled = cjson.decode(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local hold = cjson.decode(flat[i + 1])
  local back = hold['amount'] - (settled[flat[i]] or 0)
  for _, key in ipairs(hold['keys']) do
    if back ~= 0 and redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, back) end
  end
end
redis.call('DEL', KEYS[1])
return #flat / 2
"""


def holds_key(instance: str) -> str:
    return f"newapi:journal:{instance}:holds"


class RedisHolds:
    def __init__(self, redis: aioredis.Redis, instance: str) -> None:
        self._key = holds_key(instance)
        self._take = redis.register_script(_TAKE)
        self._settle = redis.register_script(_SETTLE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, keys: Sequence[str], amount: int) -> tuple[int, str]:
        """The cache's reserve result (-1 taken, -2 unloaded, i: balance i short) and hold id."""
        hold = uuid.uuid4().hex
        record = orjson.dumps({"keys": list(keys), "amount": amount})
        try:
            result = await self._take(keys=[self._key, *keys], args=[hold, amount, record])
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc
        return int(result), hold

    async def settle(self, hold: str, keys: Sequence[str], delta: int) -> None:
        """Correct the balances by ``delta`` and drop the hold; a second call does nothing."""
        try:
            await self._settle(keys=[self._key, *keys], args=[hold, delta])
        except RedisError as exc:
            raise ServiceUnavailable(f"cache unavailable: {type(exc).__name__}") from exc

    async def give_back(self, dead_instance: str, settled: dict[str, int]) -> int:
        """Return the holds of a dead process (``settled``: hold -> final charge journaled)."""
        args = [orjson.dumps(settled or {"": 0})]  # cjson reads an empty object as an array
        return int(await self._give_back(keys=[holds_key(dead_instance)], args=args))
