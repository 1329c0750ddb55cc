"""The shared settlement journal: one Redis stream per process, kept alive by a lease.

Each process appends to its own stream (``newapi:journal:<instance>``) with one ``XADD`` and
deletes entries once the database holds them. Its lease key expires ``LEASE_SECONDS`` after
its last renewal; a live process that finds a registered instance without a lease claims it
(``SET NX``), copies the dead stream's entries into its own stream and deletes the dead one in
one ``MULTI``, then replays them; it also gives back the dead process's quota reservations
(:mod:`newapi.billing.holds`). Durability is Redis's: with ``appendonly yes`` and
``appendfsync everysec`` a Redis crash can lose up to one second; a gateway crash loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import orjson
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from newapi.billing.holds import RedisHolds
from newapi.billing.journal import JournalError

log = logging.getLogger(__name__)
PREFIX = "newapi:journal"
REGISTRY = f"{PREFIX}:instances"
LEASE_SECONDS = 15
RENEW_SECONDS = LEASE_SECONDS / 3


def stream_key(instance: str) -> str:
    return f"{PREFIX}:{instance}"


def lease_key(instance: str) -> str:
    return f"{PREFIX}:{instance}:lease"


class GroupAppend:
    """``XADD``s that arrive while one round trip is under way go together in the next."""

    def __init__(self, redis: aioredis.Redis, stream: str) -> None:
        self._redis, self._stream = redis, stream
        self._waiting: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def append(self, record: bytes) -> bytes:
        """The stream entry id, once Redis has the record."""
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting.append((record, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="journal-append")
        return await asyncio.shield(done)

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for record, _ in batch:
                        pipe.xadd(self._stream, {"r": record})
                    entries = await pipe.execute()
            except RedisError as error:
                failure = JournalError(f"journal unavailable: {type(error).__name__}")
                for _, done in batch:
                    done.set_exception(failure)
                continue
            for (_, done), entry in zip(batch, entries, strict=True):
                done.set_result(entry)


class RedisJournal:
    def __init__(
        self, url: str, *, pool_size: int = 10, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        # A burst of settlements waits for a free connection rather than failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max(pool_size, 1), timeout=5
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        self.instance = uuid.uuid4().hex
        self._appender = GroupAppend(self._redis, stream_key(self.instance))
        self.holds = RedisHolds(self._redis, self.instance)
        self._lease_ms = int(lease_seconds * 1000)
        self._entries: dict[str, bytes] = {}  # settlement id -> stream entry id
        self._unacked: list[bytes] = []  # entry ids whose XDEL failed, retried with the next

    async def open(self) -> None:
        try:
            await self._redis.set(lease_key(self.instance), self.instance, px=self._lease_ms)
            await self._redis.sadd(REGISTRY, self.instance)
        except RedisError as error:
            raise JournalError(f"journal unavailable: {type(error).__name__}") from None

    async def renew(self) -> None:
        """Keep this process's lease (every :data:`RENEW_SECONDS`)."""
        try:
            await self._redis.set(lease_key(self.instance), self.instance, px=self._lease_ms)
        except RedisError as error:
            log.warning("journal lease not renewed: %s", type(error).__name__)

    async def append(self, item_id: str, record: bytes) -> None:
        self._entries[item_id] = await self._appender.append(record)

    async def ack(self, item_ids: list[str]) -> None:
        entries = self._unacked + [
            entry for item_id in item_ids if (entry := self._entries.pop(item_id, None))
        ]
        self._unacked = []
        for start in range(0, len(entries), 1000):
            chunk = entries[start : start + 1000]
            try:
                await self._redis.xdel(stream_key(self.instance), *chunk)
            except RedisError as error:
                log.warning("journal ack failed (%s); retried later", type(error).__name__)
                self._unacked += entries[start:]
                return

    async def recover(self) -> list[bytes]:
        """The entries of every registered instance whose lease lapsed, now this one's."""
        try:
            instances = [raw.decode() for raw in await self._redis.smembers(REGISTRY)]
            records: list[bytes] = []
            for instance in instances:
                if instance != self.instance:
                    records += await self._adopt(instance)
            return records
        except RedisError as error:
            log.warning("journal recovery skipped: %s", type(error).__name__)
            return []

    async def _adopt(self, dead: str) -> list[bytes]:
        if not await self._redis.set(lease_key(dead), self.instance, nx=True, px=self._lease_ms):
            return []  # alive, or another process is adopting it
        entries = await self._redis.xrange(stream_key(dead))
        settled = {hold: quota for hold, quota in map(_hold_of, entries) if hold}
        released = await self.holds.give_back(dead, settled)
        if released:
            log.warning("gave back %d quota reservations of a stopped process", released)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _, fields in entries:
                pipe.xadd(stream_key(self.instance), {"r": fields[b"r"]})
            pipe.delete(stream_key(dead), lease_key(dead))
            pipe.srem(REGISTRY, dead)
            results = await pipe.execute()
        records = []
        for (_, fields), entry in zip(entries, results, strict=False):
            record: bytes = fields[b"r"]
            records.append(record)
            self._entries[_record_id(record)] = entry
        if records:
            log.warning("recovered %d settlements of a stopped process", len(records))
        return records

    async def close(self) -> None:
        """A clean stop: nothing left to replay, so the stream and the lease go."""
        try:
            if not self._entries and not self._unacked:
                await self.holds.give_back(self.instance, {})  # requests that never settled
                await self._redis.delete(stream_key(self.instance), lease_key(self.instance))
                await self._redis.srem(REGISTRY, self.instance)
        except RedisError as error:
            log.warning("journal not closed cleanly: %s", type(error).__name__)
        await self._redis.aclose()


def _hold_of(entry: tuple[bytes, dict[bytes, bytes]]) -> tuple[str, int]:
    try:
        values = orjson.loads(entry[1][b"r"])
        return str(values.get("hold") or ""), int(values["quota"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return "", 0


def _record_id(record: bytes) -> str:
    try:
        return str(orjson.loads(record)["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ""
