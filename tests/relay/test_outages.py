"""Redis and the database stopped mid-traffic, then started again, without restarting newapi.

Callers must get clear 503s in their own format (never a 401 that blames their key, never a
500), nothing may wait without bound, and service must come back by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from redis import asyncio as aioredis

from bench.fakes import FakeProviders
from newapi.cache.redis import CHANGES_CHANNEL
from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root
from tests.support.private import PrivateMariaDB, PrivatePostgres, PrivateRedis

HELLO = [{"role": "user", "content": "hi"}]
MODEL = "gpt-4o-mini"
CALL_TIMEOUT = 30.0  # far above the bound asserted: a hang shows as a slow outcome
OUTAGE_SECONDS = 10
RSS_GROWTH_MB = 20  # the most a 10-s outage under steady traffic may add to the server
# A hung Redis: a 2-s read timeout plus waiting for a connection; a hung database: the relay's
# 3-s lookup bound.
HUNG_BOUND_SECONDS = 4.5
# Settlements a node may hold while its database is away: reached within an outage's traffic.
UNWRITTEN_CAP = 30
CAPPED = "database unavailable: usage cannot be recorded"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One relay call: when it started (monotonic), which API, the status and the body."""

    started: float
    seconds: float
    api: str  # "openai" or "claude"
    status: int  # 200, the error status, or 0 when no answer came (timeout, reset)
    body: Any


@dataclass
class Traffic:
    """Relay calls with the official SDKs (no retries), an OpenAI and a Claude call at a time."""

    base_url: str
    key: str
    outcomes: list[Outcome] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[Outcome]:
        """The calls started from ``start`` to ``end`` (however long they took)."""
        return [o for o in self.outcomes if start <= o.started <= end]

    def overlapping(self, start: float, end: float) -> list[Outcome]:
        """The calls in flight at some moment from ``start`` to ``end``."""
        return [o for o in self.outcomes if o.started <= end and o.started + o.seconds >= start]

    async def run(self, pause: float = 0.05) -> None:
        """Steady traffic until cancelled."""
        while True:
            await self.once()
            await asyncio.sleep(pause)

    async def once(self) -> list[Outcome]:
        """One OpenAI and one Claude call at the same time; returns their outcomes."""
        sdk_openai = openai.AsyncOpenAI(
            base_url=self.base_url + "/v1", api_key=self.key, max_retries=0, timeout=CALL_TIMEOUT
        )
        sdk_claude = anthropic.AsyncAnthropic(
            base_url=self.base_url, api_key=self.key, max_retries=0, timeout=CALL_TIMEOUT
        )
        async with sdk_openai, sdk_claude:
            before = len(self.outcomes)
            await asyncio.gather(self._openai(sdk_openai), self._claude(sdk_claude))
            return self.outcomes[before:]

    async def _openai(self, client: openai.AsyncOpenAI) -> None:
        started = time.monotonic()
        try:
            reply = await client.chat.completions.create(model=MODEL, messages=HELLO)
            self._note(started, "openai", 200, reply.model_dump())
        except openai.APIStatusError as error:
            self._note(started, "openai", error.status_code, _json(error.response))
        except openai.APIConnectionError as error:
            self._note(started, "openai", 0, repr(error))

    async def _claude(self, client: anthropic.AsyncAnthropic) -> None:
        started = time.monotonic()
        try:
            reply = await client.messages.create(model=MODEL, max_tokens=50, messages=HELLO)
            self._note(started, "claude", 200, reply.model_dump())
        except anthropic.APIStatusError as error:
            self._note(started, "claude", error.status_code, _json(error.response))
        except anthropic.APIConnectionError as error:
            self._note(started, "claude", 0, repr(error))

    def _note(self, started: float, api: str, status: int, body: Any) -> None:
        self.outcomes.append(Outcome(started, time.monotonic() - started, api, status, body))


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


@asynccontextmanager
async def running(traffic: Traffic) -> AsyncIterator[Traffic]:
    task = asyncio.create_task(traffic.run())
    try:
        yield traffic
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def assert_clear_503(outcomes: list[Outcome], message: str) -> None:
    """Every failed call is a 503 in the caller's own format, naming the dependency."""
    failed = [o for o in outcomes if o.status != 200]
    assert failed, "the outage was never seen by a caller"
    for outcome in failed:
        assert outcome.status == 503, outcome
        if outcome.api == "openai":
            error = outcome.body["error"]
            assert error["code"] == "service_unavailable" and error["type"], outcome
        else:
            assert outcome.body["type"] == "error", outcome
            assert outcome.body["error"]["type"] == "api_error", outcome
            error = outcome.body["error"]
        assert error["message"].startswith(message), outcome


async def provision(gateway_url: str, fake: FakeProviders) -> tuple[ApiClient, str]:
    """Root, a channel on the fake upstream and a key (through the admin API)."""
    root = await setup_root(gateway_url)
    channel = {"type": 1, "name": "c", "key": "sk-up", "models": MODEL, "base_url": fake.url}
    reply = await root.post("/api/channel/", {"mode": "single", "channel": channel})
    assert reply.success, reply.body
    return root, await new_key(root)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def timed(work: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = await work
    return time.monotonic() - started, result


async def new_token(root: ApiClient) -> tuple[int, str]:
    """A new unlimited key of root: (token id, "sk-...")."""
    reply = await root.post("/api/token/", {"name": "fresh", "unlimited_quota": True})
    assert reply.success, reply.body
    return int(reply.data["id"]), "sk-" + reply.data["key"]


async def new_key(root: ApiClient) -> str:
    return (await new_token(root))[1]


async def within(seconds: float, attempt: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until ``attempt()`` is true, polled every 0.2 s; fails after ``seconds``."""
    started = time.monotonic()
    while not await attempt():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not back within {seconds} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def watch_rss(pid: int, seconds: float) -> list[float]:
    """RSS of ``pid`` once a second for ``seconds``."""
    samples = []
    for _ in range(int(seconds)):
        samples.append(rss_mb(pid))
        await asyncio.sleep(1)
    return samples


def gateway_pid(gateway: Gateway) -> int:
    assert gateway.process is not None
    return gateway.process.pid


# ---- the database ----------------------------------------------------------------------------


DatabaseServer = PrivatePostgres | PrivateMariaDB


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
async def test_database_crash_gives_503s_keeps_cached_keys_and_recovers(
    start_gateway: StartGateway, engine: str
) -> None:
    server: DatabaseServer = PrivatePostgres() if engine == "postgres" else PrivateMariaDB()
    try:
        await server.create()
        await server.start()
        async with FakeProviders.start() as fake:
            gateway = await start_gateway(
                SQL_DSN=server.dsn,
                BATCH_UPDATE_INTERVAL="1",
                SYNC_FREQUENCY="60",
                NEWAPI_MAX_UNWRITTEN_USAGE=str(UNWRITTEN_CAP),
            )
            root, key = await provision(gateway.url, fake)
            try:
                await _database_outage(gateway, root, key, server)
                await _database_hung(gateway, root, key, server)
            finally:
                await root.close()
    finally:
        await server.remove()
    assert "unhandled error" not in gateway.log_text(), gateway.log_text()


async def _database_outage(
    gateway: Gateway, root: ApiClient, key: str, server: DatabaseServer
) -> None:
    unseen = Traffic(gateway.url, await new_key(root))  # never used: not in any cache
    async with running(Traffic(gateway.url, key)) as traffic:
        await within(15, lambda: _answered(traffic))
        down = time.monotonic()
        await server.crash()
        admin_seconds, admin = await timed(root.get("/api/channel/", params={"p": 1}))
        refused = await unseen.once()
        rss = await watch_rss(gateway_pid(gateway), OUTAGE_SECONDS)
        await server.start()
        up = time.monotonic()
        admin_back = await within(15, lambda: _admin_answers(root))
        key_back = await within(15, lambda: _both_succeed(unseen))
    print(f"\ndatabase outage: RSS {rss[0]:.1f} -> {max(rss):.1f} MB over {len(rss)} s, ")
    print(f"admin back in {admin_back:.1f} s, a new key in {key_back:.1f} s after the start")
    answered = sum(o.status == 200 for o in traffic.outcomes + unseen.outcomes)
    logged = await within(15, lambda: _logged(root, answered))
    print(f"{answered} answered calls all logged {logged:.1f} s after the database came back")
    # Keys in the node's cache (SYNC_FREQUENCY) keep being served without the database, until
    # the node holds NEWAPI_MAX_UNWRITTEN_USAGE unwritten settlements: then clear 503s.
    during = traffic.overlapping(down, up)
    served = [o for o in during if o.status == 200]
    assert len(served) > 5  # steady traffic went on (fewer on a loaded box)
    assert len(served) <= UNWRITTEN_CAP + 2  # two callers: one call each may pass the check
    capped = [o for o in during if o.status != 200]
    assert capped, "the outage never reached the cap on unwritten usage"
    assert_clear_503(capped, CAPPED)
    assert admin.status == 503 and admin.body == {
        "success": False,
        "message": "database unavailable",
    }
    assert admin_seconds < 3
    assert_clear_503(refused, "database unavailable")
    assert max(o.seconds for o in refused) < 3
    assert max(rss) - rss[0] < RSS_GROWTH_MB


async def _database_hung(
    gateway: Gateway, root: ApiClient, key: str, server: DatabaseServer
) -> None:
    """A server that accepts connections and never answers: known keys are still served, a
    key the gateway must look up is refused within seconds, not after the statement timeout."""
    unseen = Traffic(gateway.url, await new_key(root))
    async with running(Traffic(gateway.url, key)) as traffic:
        await within(15, lambda: _answered(traffic))
        server.freeze()
        down = time.monotonic()
        try:
            refused = await unseen.once()
            await asyncio.sleep(2)
        finally:
            server.thaw()
        up = time.monotonic()
        back = await within(15, lambda: _both_succeed(unseen))
    print(f"database hung: a new key served {back:.1f} s after it answered again")
    during = traffic.between(down, up)
    assert len(during) > 2
    assert [o for o in during if o.status == 200]
    capped = [o for o in during if o.status != 200]  # the unwritten usage may reach the cap
    assert all(o.status == 503 and CAPPED in str(o.body) for o in capped), capped
    assert max(o.seconds for o in refused) < HUNG_BOUND_SECONDS, refused
    assert_clear_503(refused, "database unavailable")


async def _logged(root: ApiClient, count: int) -> bool:
    """The usage writer has flushed ``count`` consume logs (kept while the database was away)."""
    reply = await root.get("/api/log/", params={"type": 2, "page_size": 1})
    return reply.success and reply.data["total"] >= count


async def _answered(traffic: Traffic) -> bool:
    """Both APIs answered before the outage (the key is in the gateway's caches)."""
    return {o.api for o in traffic.outcomes if o.status == 200} == {"openai", "claude"}


async def _admin_answers(root: ApiClient) -> bool:
    return (await root.get("/api/channel/", params={"p": 1})).success


async def _both_succeed(traffic: Traffic) -> bool:
    return {o.status for o in await traffic.once()} == {200}


# ---- Redis -----------------------------------------------------------------------------------


async def test_redis_killed_or_hung_gives_503s_and_recovers(start_gateway: StartGateway) -> None:
    redis = PrivateRedis()
    try:
        await redis.start()
        async with FakeProviders.start() as fake:
            gateway = await start_gateway(
                REDIS_CONN_STRING=redis.url,
                BATCH_UPDATE_INTERVAL="1",
                GLOBAL_API_RATE_LIMIT_ENABLE="true",  # new-api's default: not counted while down
            )
            root, key = await provision(gateway.url, fake)
            try:
                await _redis_killed(gateway, root, key, redis)
                await _redis_hung(gateway, key, redis)
            finally:
                await root.close()
    finally:
        await redis.kill()
    assert "unhandled error" not in gateway.log_text(), gateway.log_text()


async def _redis_killed(gateway: Gateway, root: ApiClient, key: str, redis: PrivateRedis) -> None:
    spare, _ = await new_token(root)
    issued = await root.get("/api/user/token")
    assert issued.success, issued.body
    script = ApiClient(gateway.url)  # an access token, no cookie: a script, not a browser
    script.user_id, script.access_token = root.user_id, str(issued.data)
    async with running(Traffic(gateway.url, key)) as traffic:
        await within(15, lambda: _answered(traffic))
        down = time.monotonic()
        await redis.kill()
        # Admin reads need only the database (session epochs live there too), with a cookie
        # or an access token; a write that must drop cached entries is committed, then
        # answered 503 (the cache could not be told).
        cookie = await root.get("/api/channel/", params={"p": 1})
        read = await script.get("/api/channel/", params={"p": 1})
        write = await script.put("/api/token/", {"id": spare, "name": "renamed"})
        rss = await watch_rss(gateway_pid(gateway), OUTAGE_SECONDS)
        await redis.start()  # empty, as after a crash: entries reload from the database
        up = time.monotonic()
        back = await within(10, lambda: _both_succeed(traffic))
        followed = await within(5, lambda: _change_feed_followed(redis))
    print(f"\nRedis killed: RSS {rss[0]:.1f} -> {max(rss):.1f} MB over {len(rss)} s, ")
    print(f"relay back in {back:.1f} s, change feed followed again in {followed:.1f} s")
    during = traffic.between(down + 0.5, up)
    assert len(during) > 5
    assert_clear_503(during, "cache unavailable")
    assert max(o.seconds for o in during) < 1  # refused at once: nothing to wait for
    assert cookie.success and cookie.data["total"] == 1
    assert read.success and read.data["total"] == 1
    assert write.status == 503
    assert write.body == {"success": False, "message": "cache unavailable: ConnectionError"}
    renamed = await script.get(f"/api/token/{spare}")
    assert renamed.success and renamed.data["name"] == "renamed"
    # Redis came back empty: console sessions are unaffected (their epochs are in the database).
    kept = await root.get("/api/channel/", params={"p": 1})
    assert kept.success, kept.body
    await script.close()
    assert max(rss) - rss[0] < RSS_GROWTH_MB


async def _redis_hung(gateway: Gateway, key: str, redis: PrivateRedis) -> None:
    """A Redis that accepts connections and never answers: bounded waits, then 503s."""
    async with running(Traffic(gateway.url, key)) as traffic:
        await within(15, lambda: _answered(traffic))
        down = time.monotonic()
        redis.freeze()
        await asyncio.sleep(8)
        redis.thaw()
        up = time.monotonic()
        back = await within(10, lambda: _both_succeed(traffic))
    print(f"Redis hung: relay back in {back:.1f} s after it answered again")
    during = traffic.overlapping(down, up)
    assert len(during) >= 2
    assert max(o.seconds for o in during) < HUNG_BOUND_SECONDS, during
    assert_clear_503(during, "cache unavailable")


async def _change_feed_followed(redis: PrivateRedis) -> bool:
    """The gateway subscribed to the change feed again (admin writes of other nodes)."""
    client = aioredis.from_url(redis.url)
    try:
        counts = await client.pubsub_numsub(CHANGES_CHANNEL)
    finally:
        await client.aclose()
    return dict(counts).get(CHANGES_CHANNEL.encode(), 0) >= 1
