"""The same flow on every engine, with the memory cache and with Redis; split log databases;
slave nodes that refuse a database nobody migrated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from tests.conftest import StartGateway
from tests.db.newapi_schema import (
    ENGINES,
    Engine,
    RawDatabase,
    empty_database,
    run_newapi,
    schema_sql,
)
from tests.support.gateway import ApiClient, Gateway, free_port, setup_root
from tests.support.services import postgres_database, redis_database

CHANNEL = {"type": 1, "name": "c1", "key": "sk-test", "models": "gpt-4o", "group": "default"}
CACHES = ("memory", "redis")


@asynccontextmanager
async def cache_env(cache: str) -> AsyncIterator[dict[str, str]]:
    if cache == "memory":
        yield {}
    else:
        async with redis_database() as url:
            yield {"REDIS_CONN_STRING": url}


async def _lists(client: ApiClient) -> dict[str, Any]:
    channels = await client.get("/api/channel/")
    tokens = await client.get("/api/token/")
    assert channels.success and tokens.success, (channels.body, tokens.body)
    return {"channels": channels.data["items"], "tokens": tokens.data["items"]}


async def _abilities(engine: Engine, target: str) -> list[tuple[str, str, int]]:
    raw = await RawDatabase.connect(engine, target)
    try:
        rows = await raw.fetch("SELECT * FROM abilities")
    finally:
        await raw.close()
    return sorted((r["group"], r["model"], int(r["channel_id"])) for r in rows)


async def _build(client: ApiClient) -> tuple[int, str]:
    """Create a channel and an API key; return the channel id and the key."""
    created = await client.post("/api/channel/", {"mode": "single", "channel": CHANNEL})
    assert created.success, created.body
    (channel_id,) = created.data
    token = await client.post("/api/token/", {"name": "k1", "remain_quota": 500})
    assert token.success, token.body
    return channel_id, token.data["key"]


async def _ended_session(root: ApiClient, url: str) -> ApiClient:
    """A copy of the session cookie of a user who then logged out (ending it)."""
    created = await root.post("/api/user/", {"username": "leaver", "password": "leaver-pass-1"})
    assert created.success, created.body
    browser, copy = ApiClient(url), ApiClient(url)
    try:
        assert (await browser.login("leaver", "leaver-pass-1")).success
        copy.user_id = browser.user_id
        copy.http.cookie_jar.update_cookies(browser.http.cookie_jar.filter_cookies(URL(url)))
        assert (await copy.get("/api/user/self")).success
        assert (await browser.get("/api/user/logout")).success
    finally:
        await browser.close()
    return copy


@pytest.mark.parametrize("cache", CACHES)
@pytest.mark.parametrize("engine", ENGINES)
async def test_setup_channel_key_and_restart(
    engine: Engine, cache: str, tmp_path: Path, start_gateway: StartGateway
) -> None:
    async with empty_database(engine, tmp_path) as (env, target), cache_env(cache) as extra:
        first = await start_gateway(**env, **extra)
        assert f"cache {cache}" in first.log_text()
        root = await setup_root(first.url)
        try:
            channel_id, key = await _build(root)
            before = await _lists(root)
            assert [(c["id"], c["name"], c["models"]) for c in before["channels"]] == [
                (channel_id, "c1", "gpt-4o")
            ]
            assert "sk-test" not in str(before["channels"])
            assert [t["name"] for t in before["tokens"]] == ["k1"]
            assert key not in str(before["tokens"])
            assert await _abilities(engine, target) == [("default", "gpt-4o", channel_id)]
            stale = await _ended_session(root, first.url)
            await first.stop()
            second = await start_gateway(**env, **extra)
            root.base_url = stale.base_url = second.url
            # Same cookie jar: the session must still be valid; one that ended stays ended.
            me = await root.get("/api/user/self")
            assert me.success and me.data["role"] == 100, me.body
            replayed = await stale.get("/api/user/self")
            await stale.close()
            assert replayed.status == 401, replayed.body
            assert await _lists(root) == before
            revealed = await root.post(f"/api/token/{before['tokens'][0]['id']}/key")
            assert revealed.data == {"key": key}
            await second.stop()
        finally:
            await root.close()


async def test_log_database_on_postgres_with_sqlite_main(
    tmp_path: Path, start_gateway: StartGateway
) -> None:
    async with postgres_database() as log_dsn:
        server = await start_gateway(LOG_SQL_DSN=log_dsn)
        root = await setup_root(server.url)
        try:
            created = await root.post(
                "/api/user/", {"username": "logged", "password": "password-123"}
            )
            assert created.success, created.body
            listed = (await root.get("/api/log/")).data
            assert any("logged" in item["content"] for item in listed["items"])
        finally:
            await root.close()
            await server.stop()
        logs_db = await RawDatabase.connect("postgres", log_dsn)
        try:
            assert "logs" in await logs_db.tables()
            rows = await logs_db.fetch("SELECT type, content FROM logs")
            assert any(r["type"] == 3 and "logged" in r["content"] for r in rows)
            assert "users" not in await logs_db.tables()  # only the logs app lives there
        finally:
            await logs_db.close()
    main = await RawDatabase.connect("sqlite", str(tmp_path / "one-api.db"))
    try:
        tables = await main.tables()
        assert "users" in tables
        if "logs" in tables:
            assert await main.fetch("SELECT id FROM logs") == []
    finally:
        await main.close()


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


@pytest.mark.parametrize("engine", ENGINES)
async def test_slave_refuses_an_unmigrated_database(engine: Engine, tmp_path: Path) -> None:
    async with empty_database(engine, tmp_path) as (env, target):
        slave = {**env, "NODE_TYPE": "slave", "PORT": str(free_port())}
        served = await run_newapi("serve", cwd=tmp_path, **slave)
        assert served.code == 1
        line = _one_line(served.output)
        assert line.startswith("newapi: ") and "newapi migrate" in line
        migrated = await run_newapi("migrate", cwd=tmp_path, **slave)
        assert migrated.code == 1 and "NODE_TYPE=slave" in _one_line(migrated.output)
        raw = await RawDatabase.connect(engine, target)
        try:
            assert not {"users", "aerich"} & await raw.tables()  # nothing was created
        finally:
            await raw.close()


async def test_slave_names_what_a_new_api_database_lacks(tmp_path: Path) -> None:
    raw = await RawDatabase.connect("sqlite", str(tmp_path / "one-api.db"))
    try:
        await raw.execute(schema_sql("sqlite"))
    finally:
        await raw.close()
    served = await run_newapi("serve", cwd=tmp_path, NODE_TYPE="slave", PORT=str(free_port()))
    line = _one_line(served.output)
    assert served.code == 1
    assert "users lacks created_at, last_login_at" in line and "table setups is missing" in line


async def test_slave_serves_a_database_the_master_migrated(
    tmp_path: Path, start_gateway: StartGateway
) -> None:
    master = await start_gateway()
    root = await setup_root(master.url)
    await root.close()
    await master.stop()
    slave: Gateway = await start_gateway(NODE_TYPE="slave")
    client = ApiClient(slave.url)
    try:
        assert (await client.get("/api/setup")).data["status"] is True
    finally:
        await client.close()


async def test_log_database_added_to_an_existing_install(
    tmp_path: Path, start_gateway: StartGateway
) -> None:
    """Moving logs to a new LOG_SQL_DSN later: the empty log database gets its table."""
    first = await start_gateway()
    root = await setup_root(first.url)
    await root.close()
    await first.stop()
    async with postgres_database() as log_dsn:
        second = await start_gateway(LOG_SQL_DSN=log_dsn)
        root = ApiClient(second.url)
        try:
            assert (await root.login("root", "root-password-1")).success
            created = await root.post("/api/user/", {"username": "later", "password": "pw-123456"})
            assert created.success, created.body
            listed = (await root.get("/api/log/")).data["items"]
            assert any("later" in item["content"] for item in listed)
        finally:
            await root.close()
            await second.stop()
        logs_db = await RawDatabase.connect("postgres", log_dsn)
        try:
            rows = await logs_db.fetch("SELECT content FROM logs")
            assert any("later" in r["content"] for r in rows)
        finally:
            await logs_db.close()
