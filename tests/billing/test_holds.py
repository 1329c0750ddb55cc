"""Quota holds in Redis: a dead process's reservations go back to the balances exactly once."""

from __future__ import annotations

import asyncio

import orjson
from redis import asyncio as aioredis
from websockets.asyncio.client import connect

from bench.fakes import FakeProviders
from newapi.billing.journal import Consumption, encode
from newapi.billing.journal_redis import RedisJournal
from tests.conftest import StartGateway
from tests.relay.conftest import Relay, all_logs, new_key
from tests.support.gateway import setup_root

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


async def test_realtime_turns_leave_no_hold_behind(
    start_gateway: StartGateway, redis_url: str
) -> None:
    """Each realtime response is charged as a reservation that is final at once: it must not
    stay a hold, or a dead process's give-back would refund answered turns."""
    async with FakeProviders.start() as fake:
        gateway = await start_gateway(REDIS_CONN_STRING=redis_url, BATCH_UPDATE_INTERVAL="1")
        relay = Relay(gateway, await setup_root(gateway.url), fake)
        try:
            await relay.channel(models="gpt-realtime", key="sk-rt")
            await relay.option("ModelRatio", orjson.dumps({"gpt-realtime": 2}).decode())
            _, key = await new_key(relay.root, unlimited_quota=False, remain_quota=10_000_000)
            url = gateway.url.replace("http://", "ws://") + "/v1/realtime?model=gpt-realtime"
            async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
                await ws.recv()
                for _ in range(2):
                    await ws.send(orjson.dumps({"type": "response.create"}).decode())
                    while orjson.loads(await ws.recv())["type"] != "response.done":
                        pass
                redis = aioredis.from_url(redis_url)
                try:
                    (holds,) = await redis.keys("newapi:journal:*:holds")
                    assert await redis.hlen(holds) == 1  # the session's float, until it ends
                finally:
                    await redis.aclose()
            assert len(await all_logs(relay, 2)) == 2
        finally:
            await relay.root.close()
    redis = aioredis.from_url(redis_url)
    try:
        assert [await redis.hlen(k) for k in await redis.keys("newapi:journal:*:holds")] == []
    finally:
        await redis.aclose()


async def test_a_clean_stop_gives_back_holds_that_never_settled(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    await redis.set(BALANCE, 5_000)
    journal = RedisJournal(redis_url)
    await journal.open()
    assert (await journal.holds.take([BALANCE], 2_000))[0] == -1
    await journal.close()  # e.g. a request task cancelled at shutdown before its settle
    assert int(await redis.get(BALANCE)) == 5_000
    assert await redis.keys("newapi:journal:*") == []
    await redis.aclose()
