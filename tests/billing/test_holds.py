"""Quota holds in Redis: a dead process's reservations go back to the balances exactly once."""

from __future__ import annotations

import asyncio

from redis import asyncio as aioredis

from newapi.billing.journal import Consumption, encode
from newapi.billing.journal_redis import RedisJournal

BALANCE = "quota:user:1"


async def test_holds_of_a_dead_process_are_given_back_less_what_it_journaled(
    redis_url: str,
) -> None:
    redis = aioredis.from_url(redis_url)
    await redis.set(BALANCE, 10_000)
    dead = RedisJournal(redis_url, lease_seconds=0.2)
    await dead.open()
    taken = [await dead.holds.take([BALANCE], 1_000) for _ in range(3)]
    assert [result for result, _ in taken] == [-1, -1, -1]
    (_, settled), (_, journaled_only), (_, in_flight) = taken
    await dead.holds.settle(settled, [BALANCE], 1_000 - 300)  # charged 300, refunded 700
    records = [_used(300, settled), _used(400, journaled_only)]  # killed before the second's
    for record in records:  # settle
        await dead.append(record.id, encode(record))
    assert int(await redis.get(BALANCE)) == 10_000 - 300 - 2 * 1_000
    # in_flight: killed while the upstream answered; never settled nor journaled
    live = RedisJournal(redis_url, lease_seconds=0.2)
    await live.open()
    await asyncio.sleep(0.3)
    await live.renew()
    assert len(await live.recover()) == 2
    assert int(await redis.get(BALANCE)) == 10_000 - 300 - 400  # the charges, nothing held
    await dead.holds.settle(journaled_only, [BALANCE], 600)  # a late settle is a no-op
    await dead.holds.settle(in_flight, [BALANCE], 1_000)
    assert int(await redis.get(BALANCE)) == 10_000 - 300 - 400
    await live.ack([record.id for record in records])
    await live.close()
    assert await redis.keys("newapi:journal:*") == []  # nothing of either process is left
    await redis.aclose()


def _used(quota: int, hold: str) -> Consumption:
    return Consumption(1, "u", 0, 0, "m", quota, 1, None, at=1, hold=hold)
