"""The settlement journals on real files and a real Redis: what survives, what is forgotten."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from redis import asyncio as aioredis

from newapi.billing.journal import Consumption, decode, encode
from newapi.billing.journal_file import FileJournal
from newapi.billing.journal_redis import REGISTRY, RedisJournal, stream_key


def segments(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.journal"))


def item(number: int) -> Consumption:
    return Consumption(1, "u", 2, 3, "gpt-4o-mini", number, 10, {"quota": number}, at=1)


async def test_records_survive_a_restart_and_a_torn_tail_is_skipped(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path)
    await journal.open()
    items = [item(n) for n in range(3)]
    for one in items:
        await journal.append(one.id, encode(one))
    await journal.close()
    (segment,) = segments(tmp_path)
    with segment.open("ab") as file:
        file.write(b'{"user_id": 1, "usern')  # a write cut short by a power loss
    again = FileJournal(tmp_path)
    await again.open()
    records = await again.recover()
    assert [decode(record) for record in records[:3]] == items
    assert decode(records[3]) is None  # the torn line is not a settlement
    await again.ack([one.id for one in items])
    assert not segment.exists()  # all acknowledged: the old segment is gone
    await again.close()


async def test_processes_sharing_a_directory_get_slots_and_adopt_a_dead_ones(
    tmp_path: Path,
) -> None:
    first, second = FileJournal(tmp_path), FileJournal(tmp_path)
    await first.open()
    await second.open()  # a second node on the same SQLite file: its own slot
    one = item(1)
    await second.append(one.id, encode(one))
    assert await first.recover() == []  # the second is alive: its slot is locked
    await second.close()  # it stops (or dies) with an unacknowledged record
    (record,) = await first.recover()
    assert decode(record) == one
    assert await first.recover() == []  # adopted once
    await first.close()  # still unacknowledged: now kept in the first's slot
    again = FileJournal(tmp_path)
    await again.open()
    assert [decode(record) for record in await again.recover()] == [one]
    await again.ack([one.id])
    await again.close()
    assert segments(tmp_path) == []


async def test_concurrent_appends_share_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = 0
    real = os.fdatasync

    def counted(fd: int) -> None:
        nonlocal syncs
        syncs += 1
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counted)
    journal = FileJournal(tmp_path)
    await journal.open()
    items = [item(n) for n in range(200)]
    await asyncio.gather(*(journal.append(one.id, encode(one)) for one in items))
    assert 1 <= syncs <= 20, syncs  # group commit: far fewer fsyncs than appends
    await journal.close()


async def test_appends_that_were_acknowledged_are_not_replayed(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path)
    await journal.open()
    early, late = item(1), item(2)
    await journal.append(early.id, encode(early))
    await journal.ack([early.id])  # seals the segment holding ``early``: deleted
    await journal.append(late.id, encode(late))
    await journal.close()
    again = FileJournal(tmp_path)
    await again.open()
    assert [decode(record) for record in await again.recover()] == [late]
    await again.close()


async def test_a_dead_process_stream_is_adopted_once_its_lease_lapses(redis_url: str) -> None:
    dead = RedisJournal(redis_url, lease_seconds=0.3)
    await dead.open()
    items = [item(n) for n in range(3)]
    for one in items:
        await dead.append(one.id, encode(one))
    await dead.ack([items[0].id])  # applied before the crash
    # killed: no close, the lease is no longer renewed
    live = RedisJournal(redis_url, lease_seconds=0.3)
    await live.open()
    assert await live.recover() == []  # the lease still runs: maybe it is only slow
    deadline = time.monotonic() + 5
    records: list[bytes] = []
    while not records and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        await live.renew()
        records = await live.recover()
    assert [decode(record) for record in records] == items[1:]
    other = RedisJournal(redis_url)
    await other.open()
    assert await other.recover() == []  # adopted once, by one process
    redis = aioredis.from_url(redis_url)
    try:
        assert not await redis.exists(stream_key(dead.instance))
        assert await redis.xlen(stream_key(live.instance)) == 2  # now the live one's to ack
        await live.ack([one.id for one in items[1:]])
        assert await redis.xlen(stream_key(live.instance)) == 0
        await live.close()
        await other.close()
        assert dead.instance.encode() not in await redis.smembers(REGISTRY)
        assert await redis.smembers(REGISTRY) == set()
    finally:
        await redis.aclose()
        await dead.close()
