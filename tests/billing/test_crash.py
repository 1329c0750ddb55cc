"""A server killed under load (SIGKILL) or stopped (SIGTERM) loses no paid answer and charges
nothing twice: after a restart on the same database, the logged quota equals what the key and
the user were charged, to the unit, and every answer the caller received whole is logged.

Runs on SQLite (memory cache, local journal) and PostgreSQL + Redis (Redis stream journal).
``BATCH_UPDATE_INTERVAL`` is an hour, so before the kill nothing reaches the database by the
batch: only the journal can bring it back.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import orjson
import pytest
from redis import asyncio as aioredis
from websockets.asyncio.client import connect

from bench.fakes import FakeProviders, Scenario
from newapi.billing.journal_redis import REGISTRY
from tests.relay.conftest import new_key, poll
from tests.support.gateway import (
    ROOT,
    ROOT_PASSWORD,
    ROOT_USER,
    ApiClient,
    Gateway,
    setup_root,
)
from tests.support.services import postgres_database, redis_database

PRICE = 0.002  # USD per call: 1 000 quota
COST = 1_000
KEY_QUOTA = 10_000_000
TEXT = "The quick brown fox jumps over the lazy dog, again and again."
MESSAGES = [{"role": "user", "content": "hi"}]
SLOW_MODEL = "gpt-4o"
SONNET = "claude-sonnet-4-20250514"
REALTIME_MODEL = "gpt-realtime"


@dataclass
class Load:
    """What the callers saw: request ids of the answers received whole, and failures."""

    complete: list[str] = field(default_factory=list)
    broken: int = 0


@dataclass
class Site:
    """One deployment: a working directory and the server env (database, cache)."""

    workdir: Path
    env: dict[str, str]

    async def cached_user_balance(self, user_id: int) -> int | None:
        """The user's balance the ledger reserves from in Redis (None without Redis)."""
        url = self.env.get("REDIS_CONN_STRING")
        if url is None:
            return None
        redis = aioredis.from_url(url)
        try:
            raw = await redis.get(f"quota:user:{user_id}")
        finally:
            await redis.aclose()
        return None if raw is None else int(raw)

    async def start(self) -> Gateway:
        gateway = Gateway(self.workdir, {"BATCH_UPDATE_INTERVAL": "3600", **self.env})
        await gateway.start()
        return gateway


@pytest.fixture(params=["sqlite", "postgres-redis"])
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Site]:
    if request.param == "sqlite":
        yield Site(tmp_path, {})
        return
    async with postgres_database() as dsn, redis_database() as redis_url:
        yield Site(tmp_path, {"SQL_DSN": dsn, "REDIS_CONN_STRING": redis_url})


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    # Streams last ~1 s (10 chunks, 0.1 s apart), so a kill always finds some half sent.
    scenario = Scenario(text=TEXT, chunks=10, chunk_delay=0.1)
    async with FakeProviders.start(scenario) as providers:
        yield providers


async def prepare(gateway: Gateway, fake: FakeProviders) -> tuple[ApiClient, int, str]:
    root = await setup_root(gateway.url)
    channel = {"type": 1, "name": "c", "key": "sk-up", "models": "gpt-4o-mini"}
    channel |= {"group": "default", "base_url": fake.url}
    reply = await root.post("/api/channel/", {"mode": "single", "channel": channel})
    assert reply.success, reply.body
    # The slow model: its own upstream key, whose streams take 4 s.
    fake.channel("sk-slow", Scenario(text=TEXT, chunks=10, chunk_delay=0.4))
    slow = channel | {"name": "slow", "key": "sk-slow", "models": SLOW_MODEL}
    reply = await root.post("/api/channel/", {"mode": "single", "channel": slow})
    assert reply.success, reply.body
    prices = {"gpt-4o-mini": PRICE, SLOW_MODEL: PRICE, SONNET: PRICE}
    reply = await root.put("/api/option/", {"key": "ModelPrice", "value": prices})
    assert reply.success, reply.body
    token_id, key = await new_key(root, unlimited_quota=False, remain_quota=KEY_QUOTA)
    return root, token_id, key


async def plain(client: openai.AsyncOpenAI, model: str) -> str | None:
    raw = await client.chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    answer = raw.parse()
    if raw.status_code == 200 and answer.choices[0].message.content == TEXT:
        return raw.headers["X-Oneapi-Request-Id"]
    return None


async def stream(client: openai.AsyncOpenAI, model: str) -> str | None:
    """The request id when the stream ended with ``[DONE]`` after the whole text."""
    text, done = "", False
    async with client.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True
    ) as response:
        async for line in response.iter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: {"):
                for choice in openai.types.chat.ChatCompletionChunk.model_validate_json(
                    line[6:]
                ).choices:
                    text += choice.delta.content or ""
        request_id = response.headers["X-Oneapi-Request-Id"]
    return request_id if done and text == TEXT else None


async def caller(
    client: openai.AsyncOpenAI,
    load: Load,
    index: int,
    stop: asyncio.Event,
    model: str = "gpt-4o-mini",
) -> None:
    """Calls until ``stop`` (at least one)."""
    call = stream if index % 2 else plain
    while True:
        try:
            request_id = await call(client, model)
        except (openai.APIError, httpx2.HTTPError):
            load.broken += 1
            return  # the server is gone
        if request_id is None:
            load.broken += 1
            return
        load.complete.append(request_id)
        if stop.is_set():
            return


async def run_and_stop(
    gateway: Gateway,
    key: str,
    how: signal.Signals,
    *,
    long_stream: bool = False,
    pid: int | None = None,
) -> Load:
    """16 callers (half streaming) until ``how`` is sent (to ``pid``, else the server) once 40
    answers are complete; ``long_stream``: a stream of the slow model is under way then."""
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
    load, stop = Load(), asyncio.Event()
    callers = [asyncio.create_task(caller(client, load, i, stop)) for i in range(16)]
    await poll(lambda: _count(load), lambda count: count >= 40, seconds=60)
    assert gateway.process is not None
    if how == signal.SIGTERM:
        stop.set()  # draining: the calls under way must finish; no new one starts
        if long_stream:
            callers.append(asyncio.create_task(caller(client, load, 1, stop, SLOW_MODEL)))
        await asyncio.sleep(0.5)  # (a call started now would race the closed listener)
    if pid is None:
        gateway.process.send_signal(how)
    else:
        os.kill(pid, how)
    await asyncio.wait_for(asyncio.gather(*callers), 60)
    await client.close()  # no idle keep-alive connection holds the drain to its timeout
    await asyncio.wait_for(gateway.process.wait(), 30)
    return load


async def _count(load: Load) -> int:
    return len(load.complete)


async def charged(root: ApiClient, token_id: int) -> dict[str, Any]:
    token = (await root.get(f"/api/token/{token_id}")).data
    me = (await root.get("/api/user/self")).data
    logs: list[dict[str, Any]] = []
    page = 1
    while True:
        reply = await root.get("/api/log/", params={"type": 2, "page_size": 100, "p": page})
        assert reply.success, reply.body
        logs += reply.data["items"]
        if len(logs) >= reply.data["total"] or not reply.data["items"]:
            break
        page += 1
    return {"token": token, "user": me, "logs": logs}


def _balanced(books: dict[str, Any], load: Load) -> bool:
    logged = sum(row["quota"] for row in books["logs"])
    return (
        len(books["logs"]) >= len(load.complete)
        and books["token"]["used_quota"] == logged
        and books["user"]["used_quota"] == logged
    )


async def check_books(gateway: Gateway, token_id: int, load: Load) -> dict[str, Any]:
    root = ApiClient(gateway.url)
    try:
        assert (await root.login(ROOT_USER, ROOT_PASSWORD)).success
        # With Redis, a dead process's journal is adopted once its lease lapses (<= 15 s). A dead
        # worker may have written its log rows but not yet its batched counters: the books are
        # read once they balance (or the time is up and the checks below say what is off).
        books = await poll(
            lambda: charged(root, token_id),
            lambda books: _balanced(books, load),
            seconds=45,
        )
    finally:
        await root.close()
    logs, token, user = books["logs"], books["token"], books["user"]
    logged = sum(row["quota"] for row in logs)
    request_ids = [row["request_id"] for row in logs]
    assert len(request_ids) == len(set(request_ids)), "a settlement was applied twice"
    missing = set(load.complete) - set(request_ids)
    assert not missing, f"{len(missing)} complete answers have no log row"
    assert logged == len(logs) * COST
    assert token["used_quota"] == logged
    assert KEY_QUOTA - token["remain_quota"] == logged
    assert user["used_quota"] == logged
    return books


async def test_sigkill_under_load_loses_no_answer_and_charges_once(
    site: Site, fake: FakeProviders
) -> None:
    first = await site.start()
    try:
        root, token_id, key = await prepare(first, fake)
        await root.close()
        load = await run_and_stop(first, key, signal.SIGKILL)
    finally:
        await first.stop()
    assert first.process is not None and first.process.returncode == -signal.SIGKILL
    assert load.broken > 0  # the kill cut calls short: it really was under load
    second = await site.start()
    try:
        books = await check_books(second, token_id, load)
        # Streams cut by the kill were billed for what they delivered, at most once each.
        assert len(books["logs"]) <= len(load.complete) + load.broken
        if site.env.get("REDIS_CONN_STRING"):
            # The reservations the dead process held are back in the shared balance.
            user = books["user"]
            assert await site.cached_user_balance(user["id"]) == user["quota"]
    finally:
        await second.stop()
    assert "Traceback" not in first.log_text() + second.log_text()


async def test_sigterm_drains_streams_and_loses_no_log_row(site: Site, fake: FakeProviders) -> None:
    first = await site.start()
    try:
        root, token_id, key = await prepare(first, fake)
        await root.close()
        load = await run_and_stop(first, key, signal.SIGTERM)
    finally:
        await first.stop()
    assert first.process is not None and first.process.returncode == 0
    assert load.broken == 0  # every call under way when SIGTERM came finished whole
    second = await site.start()
    try:
        books = await check_books(second, token_id, load)
        assert len(books["logs"]) == len(load.complete)
    finally:
        await second.stop()
    assert "Traceback" not in first.log_text() + second.log_text()


@pytest.fixture
async def two_workers(tmp_path: Path) -> AsyncIterator[Site]:
    """PostgreSQL + Redis served by two Hypercorn worker processes under one parent."""
    config = tmp_path / "hypercorn.toml"
    config.write_text((ROOT / "hypercorn.toml").read_text().replace("workers = 1", "workers = 2"))
    async with postgres_database() as dsn, redis_database() as redis_url:
        env = {"SQL_DSN": dsn, "REDIS_CONN_STRING": redis_url, "HYPERCORN_CONFIG": str(config)}
        yield Site(tmp_path, env)


async def test_sigterm_drains_every_worker_and_leaves_nothing_to_replay(
    two_workers: Site, fake: FakeProviders
) -> None:
    """Hypercorn's parent sends SIGTERM to the workers still draining once one has finished:
    a worker must finish its streams and flush anyway, so no journal is left behind."""
    first = await two_workers.start()
    try:
        root, token_id, key = await prepare(first, fake)
        await root.close()
        load = await run_and_stop(first, key, signal.SIGTERM, long_stream=True)
    finally:
        await first.stop()
    assert first.process is not None and first.process.returncode == 0
    assert load.broken == 0  # the slow stream too, whichever worker served it
    redis = aioredis.from_url(two_workers.env["REDIS_CONN_STRING"])
    try:
        assert await redis.smembers(REGISTRY) == set()  # both journals closed clean
    finally:
        await redis.aclose()
    second = await two_workers.start()
    try:
        books = await check_books(second, token_id, load)
        assert len(books["logs"]) == len(load.complete)
    finally:
        await second.stop()
    assert first.log_text().count("newapi ready") == 2
    assert "Traceback" not in first.log_text() + second.log_text()


def hypercorn_workers(parent: int) -> list[int]:
    """The worker processes of a Hypercorn parent (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


async def test_sigkill_of_one_worker_loses_nothing(two_workers: Site, fake: FakeProviders) -> None:
    """One of two workers is killed under load; Hypercorn then stops the other (which drains
    and flushes). After a restart the killed worker's journal is adopted: the books balance."""
    first = await two_workers.start()
    try:
        root, token_id, key = await prepare(first, fake)
        await root.close()
        assert first.process is not None
        workers = hypercorn_workers(first.process.pid)
        assert len(workers) == 2, workers
        load = await run_and_stop(first, key, signal.SIGKILL, pid=workers[0])
    finally:
        await first.stop()
    assert load.broken > 0
    second = await two_workers.start()
    try:
        books = await check_books(second, token_id, load)
        assert len(books["logs"]) <= len(load.complete) + load.broken
        user = books["user"]
        cached = await poll(
            lambda: two_workers.cached_user_balance(user["id"]),
            lambda balance: balance == user["quota"],
            seconds=20,
        )
        assert cached == user["quota"]
    finally:
        await second.stop()
    assert "Traceback" not in first.log_text() + second.log_text()


async def test_a_stream_is_paid_before_the_caller_sees_its_end(
    tmp_path: Path, fake: FakeProviders
) -> None:
    """An upstream that sends ``message_stop`` and closes 5 s later: the caller must not hold
    a whole answer (``message_stop``) before its settlement is journaled. Killed right after
    the caller saw the end, the server still logs the call after a restart."""
    site = Site(tmp_path, {})
    first = await site.start()
    try:
        root, _, key = await prepare(first, fake)
        fake.channel("sk-ant-slow-end", Scenario(text=TEXT, end_delay=5))
        claude = {"type": 14, "name": "claude", "key": "sk-ant-slow-end", "models": SONNET}
        claude |= {"group": "default", "base_url": fake.url}
        reply = await root.post("/api/channel/", {"mode": "single", "channel": claude})
        assert reply.success, reply.body
        await root.close()
        client = anthropic.AsyncAnthropic(base_url=first.url, api_key=key, max_retries=0)
        async with client.messages.stream(
            model=SONNET, max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            request_id = stream.response.headers["X-Oneapi-Request-Id"]
            async for event in stream:
                if event.type == "message_stop":
                    assert first.process is not None
                    first.process.kill()  # the caller has the whole answer now
                    break
        await client.close()
        await first.process.wait()
    finally:
        await first.stop()
    second = await site.start()
    try:
        root = ApiClient(second.url)
        assert (await root.login(ROOT_USER, ROOT_PASSWORD)).success
        reply = await root.get("/api/log/", params={"type": 2, "page_size": 100})
        await root.close()
        assert [row["request_id"] for row in reply.data["items"]] == [request_id]
    finally:
        await second.stop()


async def test_sigterm_lets_a_realtime_session_finish(tmp_path: Path, fake: FakeProviders) -> None:
    """A voice session open when SIGTERM comes goes on (within the grace period): its turns
    are answered and billed, and the server exits once the caller hangs up."""
    site = Site(tmp_path, {})
    first = await site.start()
    try:
        root, _, key = await prepare(first, fake)
        channel = {"type": 1, "name": "rt", "key": "sk-rt", "models": REALTIME_MODEL}
        channel |= {"group": "default", "base_url": fake.url}
        assert (await root.post("/api/channel/", {"mode": "single", "channel": channel})).success
        ratio = orjson.dumps({REALTIME_MODEL: 2}).decode()
        assert (await root.put("/api/option/", {"key": "ModelRatio", "value": ratio})).success
        await root.close()
        url = first.url.replace("http://", "ws://") + f"/v1/realtime?model={REALTIME_MODEL}"
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
            assert orjson.loads(await ws.recv())["type"] == "session.created"
            assert first.process is not None
            first.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)  # the server is draining now
            for _ in range(2):
                await ws.send(orjson.dumps({"type": "response.create"}).decode())
                while orjson.loads(await ws.recv())["type"] != "response.done":
                    pass
            assert first.process.returncode is None  # still serving the session
        await asyncio.wait_for(first.process.wait(), 15)
    finally:
        await first.stop()
    assert first.process.returncode == 0
    second = await site.start()
    try:
        root = ApiClient(second.url)
        assert (await root.login(ROOT_USER, ROOT_PASSWORD)).success
        reply = await root.get("/api/log/", params={"type": 2, "model_name": REALTIME_MODEL})
        await root.close()
        rows = reply.data["items"]
        assert len(rows) == 2 and all(row["quota"] > 0 for row in rows), rows
    finally:
        await second.stop()
