"""Concurrent writes over real HTTP lose nothing: quota changes, token edits, redemptions.

Each test runs against SQLite, PostgreSQL and MariaDB: row locking differs per engine, and the
exactly-once redeem must hold on all three.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import ApiClient, Gateway, Reply
from tests.support.services import (
    MYSQL_HOST,
    MYSQL_PORT,
    mysql_database,
    postgres_database,
)

PASSWORD = "user-password-1"
CLIENTS = 20
WRITES = 200

Fetch = Callable[[str], Awaitable[list[tuple[Any, ...]]]]


@asynccontextmanager
async def _sqlite(workdir: Path) -> AsyncIterator[tuple[dict[str, str], Fetch]]:
    async def fetch(sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(workdir / "one-api.db", timeout=30) as db:
            return db.execute(sql).fetchall()

    yield {}, fetch


@asynccontextmanager
async def _postgres(workdir: Path) -> AsyncIterator[tuple[dict[str, str], Fetch]]:
    import asyncpg

    async with postgres_database() as dsn:

        async def fetch(sql: str) -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(dsn)
            try:
                return [tuple(row) for row in await conn.fetch(sql)]
            finally:
                await conn.close()

        yield {"SQL_DSN": dsn}, fetch


@asynccontextmanager
async def _mysql(workdir: Path) -> AsyncIterator[tuple[dict[str, str], Fetch]]:
    import asyncmy

    async with mysql_database() as dsn:
        found = re.search(r"\)/([^?]+)", dsn)
        assert found, dsn
        name = found.group(1)

        async def fetch(sql: str) -> list[tuple[Any, ...]]:
            conn = await asyncmy.connect(
                host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", db=name
            )
            try:
                async with conn.cursor() as cur:
                    await cur.execute(sql)
                    return [tuple(row) for row in await cur.fetchall()]
            finally:
                conn.close()

        yield {"SQL_DSN": dsn}, fetch


_ENGINES = {"sqlite": _sqlite, "postgres": _postgres, "mysql": _mysql}


@pytest.fixture(scope="module", params=list(_ENGINES))
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Path, dict[str, str], Fetch]]:
    workdir = tmp_path_factory.mktemp(f"concurrency-{request.param}")
    async with _ENGINES[request.param](workdir) as (env, fetch):
        yield workdir, env, fetch


@pytest.fixture(scope="module")
async def gateway(engine: tuple[Path, dict[str, str], Fetch]) -> AsyncIterator[Gateway]:
    """This module's server, on the engine under test (overrides the SQLite-only fixture)."""
    workdir, env, _ = engine
    server = Gateway(workdir, env)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def fetch(engine: tuple[Path, dict[str, str], Fetch]) -> Fetch:
    """Run one read-only SQL statement on the server's database."""
    return engine[2]


async def _token_clients(gateway: Gateway, login: ApiClient, count: int) -> list[ApiClient]:
    """``count`` independent clients (own connections) acting as ``login``'s user."""
    token = (await login.get("/api/user/token")).data
    clients = []
    for _ in range(count):
        client = ApiClient(gateway.url)
        client.user_id, client.access_token = login.user_id, token
        clients.append(client)
    return clients


async def _close(clients: list[ApiClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients))


@pytest.fixture(scope="module")
async def crowd(gateway: Gateway, root: ApiClient) -> AsyncIterator[list[ApiClient]]:
    """Many root clients at once, each with its own HTTP connection pool."""
    clients = await _token_clients(gateway, root, CLIENTS)
    yield clients
    await _close(clients)


async def _fan_out(
    clients: list[ApiClient], calls: list[Callable[[ApiClient], Awaitable[Reply]]]
) -> list[Reply]:
    """Run every call at once, spread round-robin over the clients."""
    return await asyncio.gather(*(call(clients[i % len(clients)]) for i, call in enumerate(calls)))


async def _new_user(root: ApiClient, username: str) -> int:
    assert (await root.post("/api/user/", {"username": username, "password": PASSWORD})).success
    found = await root.get("/api/user/search", params={"keyword": username})
    return next(u["id"] for u in found.data["items"] if u["username"] == username)


async def test_concurrent_quota_adds_lose_nothing(root: ApiClient, crowd: list[ApiClient]) -> None:
    user_id = await _new_user(root, "counter")
    body = {"id": user_id, "action": "add_quota", "mode": "add", "value": 1}

    async def add(client: ApiClient) -> Reply:
        return await client.post("/api/user/manage", body)

    replies = await _fan_out(crowd, [add] * WRITES)
    assert all(r.success for r in replies), [r.body for r in replies if not r.success][:3]
    assert (await root.get(f"/api/user/{user_id}")).data["quota"] == WRITES


async def test_concurrent_subtracts_never_go_negative(
    root: ApiClient, crowd: list[ApiClient]
) -> None:
    user_id = await _new_user(root, "drainer")
    await root.post(
        "/api/user/manage", {"id": user_id, "action": "add_quota", "mode": "add", "value": 50}
    )
    body = {"id": user_id, "action": "add_quota", "mode": "subtract", "value": 1}

    async def subtract(client: ApiClient) -> Reply:
        return await client.post("/api/user/manage", body)

    replies = await _fan_out(crowd, [subtract] * 80)
    assert sum(r.success for r in replies) == 50
    assert (await root.get(f"/api/user/{user_id}")).data["quota"] == 0


async def _create_token(client: ApiClient, name: str) -> dict[str, Any]:
    reply = await client.post(
        "/api/token/", {"name": name, "remain_quota": 1, "model_limits": "gpt-4o,o3"}
    )
    assert reply.success, reply.body
    return reply.data


async def test_concurrent_edits_of_many_tokens(crowd: list[ApiClient], root: ApiClient) -> None:
    tokens = await asyncio.gather(
        *(_create_token(crowd[i % CLIENTS], f"many-{i}") for i in range(WRITES))
    )

    def edit(token: dict[str, Any], value: int) -> Callable[[ApiClient], Awaitable[Reply]]:
        async def call(client: ApiClient) -> Reply:
            return await client.put("/api/token/", {"id": token["id"], "remain_quota": value})

        return call

    replies = await _fan_out(crowd, [edit(t, 1000 + i) for i, t in enumerate(tokens)])
    assert all(r.success for r in replies), [r.body for r in replies if not r.success][:3]
    for i, token in enumerate(tokens):
        got = (await root.get(f"/api/token/{token['id']}")).data
        assert (got["remain_quota"], got["name"]) == (1000 + i, f"many-{i}")
        assert got["model_limits"] == "gpt-4o,o3" and got["status"] == 1


async def test_concurrent_edits_of_one_token(
    fetch: Fetch, crowd: list[ApiClient], root: ApiClient
) -> None:
    token = await _create_token(root, "shared")
    values = [5000 + i for i in range(WRITES)]

    def edit(value: int) -> Callable[[ApiClient], Awaitable[Reply]]:
        async def call(client: ApiClient) -> Reply:
            return await client.put("/api/token/", {"id": token["id"], "remain_quota": value})

        return call

    replies = await _fan_out(crowd, [edit(v) for v in values])
    assert all(r.success for r in replies), [r.body for r in replies if not r.success][:3]
    got = (await root.get(f"/api/token/{token['id']}")).data
    assert got["remain_quota"] in values
    assert (got["name"], got["model_limits"], got["status"]) == ("shared", "gpt-4o,o3", 1)
    assert got["unlimited_quota"] is False and got["expired_time"] == -1
    assert (await root.post(f"/api/token/{token['id']}/key")).data == {"key": token["key"]}
    rows = await fetch(
        f"SELECT name, remain_quota, deleted_at FROM tokens WHERE id = {token['id']}"
    )
    assert rows == [("shared", got["remain_quota"], None)]


async def test_concurrent_redemptions_of_one_code(
    gateway: Gateway, fetch: Fetch, root: ApiClient
) -> None:
    created = await root.post("/api/redemption/", {"name": "race", "quota": 777})
    (key,) = created.data
    users: list[ApiClient] = []
    redeemers: list[ApiClient] = []
    try:
        for index in range(4):
            await _new_user(root, f"racer{index}")
            login = ApiClient(gateway.url)
            users.append(login)
            assert (await login.login(f"racer{index}", PASSWORD)).success
            redeemers += await _token_clients(gateway, login, 5)
        before = {c.user_id: (await c.get("/api/user/self")).data["quota"] for c in users}
        replies = await asyncio.gather(
            *(c.post("/api/user/topup", {"key": key}) for c in redeemers)
        )
        winners = [c for c, r in zip(redeemers, replies, strict=True) if r.success]
        assert len(winners) == 1 and replies[redeemers.index(winners[0])].data == 777
        losers = [r for r in replies if not r.success]
        assert all("already been used" in r.message for r in losers), losers[0].body
        after = {c.user_id: (await c.get("/api/user/self")).data["quota"] for c in users}
        gained = {uid: after[uid] - before[uid] for uid in after}
        assert gained == {uid: 777 if uid == winners[0].user_id else 0 for uid in after}
        found = await root.get("/api/redemption/search", params={"keyword": key})
        row = found.data["items"][0]
        assert row["status"] == 3 and row["used_user_id"] == winners[0].user_id
        topups = await fetch(
            f"SELECT count(*) FROM logs WHERE type = 1 AND content LIKE '%code {row['id']}:%'"
        )
        assert topups == [(1,)]
    finally:
        await _close(users + redeemers)
