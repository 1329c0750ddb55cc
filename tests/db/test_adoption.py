"""Adopting a database that new-api (Go) created, on SQLite, PostgreSQL and MariaDB.

The database is made with the raw driver in new-api's JAN26 shape (``newapi_schema``), then
``newapi migrate`` runs as a subprocess with the ``SQL_DSN`` a new-api user would have written,
then a server starts on it: old passwords log in, setup counts as done, the lists show old rows.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.db.newapi_schema import (
    ALICE_DELETED_KEY,
    ALICE_KEY,
    ALICE_PASSWORD,
    BOB_PASSWORD,
    CHANNEL_KEY,
    ENGINES,
    JAN26_TABLES,
    MISSING_COLUMNS,
    MISSING_INDEXES,
    ROOT_PASSWORD,
    SYSTEM_NAME,
    CliRun,
    Engine,
    RawDatabase,
    empty_database,
    insert_sql,
    run_newapi,
    schema_sql,
    seed,
)
from tests.support.gateway import ApiClient, Gateway

# The declared types that adoption must leave alone, as each engine reports them.
KEPT_TYPES: dict[Engine, dict[tuple[str, str], str]] = {
    "sqlite": {("tokens", "key"): "char(48)", ("tokens", "model_limits"): "varchar(1024)"},
    "postgres": {
        ("tokens", "key"): "character(48)",
        ("tokens", "model_limits"): "character varying(1024)",
        ("channels", "balance"): "numeric",
    },
    "mysql": {
        ("tokens", "key"): "char(48)",
        ("tokens", "model_limits"): "varchar(1024)",
        ("channels", "key"): "longtext",
    },
}
Snapshot = dict[str, Any]


@dataclass
class Adopted:
    """A new-api database after ``newapi migrate`` ran on it twice."""

    engine: Engine
    env: dict[str, str]
    workdir: Path
    raw: RawDatabase
    rows_before: Snapshot
    schema_before: Snapshot
    first: CliRun
    second: CliRun
    after_first: Snapshot
    after_second: Snapshot
    added_values: dict[str, list[dict[str, Any]]]


async def schema_snapshot(raw: RawDatabase) -> Snapshot:
    tables = sorted(await raw.tables())
    return {
        "tables": tables,
        "columns": {t: await raw.columns(t) for t in tables},
        "indexes": {t: await raw.indexes(t) for t in tables},
    }


async def rows_snapshot(raw: RawDatabase) -> Snapshot:
    return {table.name: await raw.rows(table) for table in JAN26_TABLES}


async def _added_values(raw: RawDatabase) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for table, columns in MISSING_COLUMNS.items():
        cols = ",".join(f'"{c}"' if raw.engine == "postgres" else f"`{c}`" for c in columns)
        found[table] = await raw.fetch(f"SELECT {cols} FROM {table} ORDER BY id")
    return found


@pytest.fixture(scope="module", params=ENGINES)
async def adopted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Adopted]:
    engine: Engine = request.param
    workdir = tmp_path_factory.mktemp(f"adopt-{engine}")
    async with empty_database(engine, workdir) as (env, target):
        raw = await RawDatabase.connect(engine, target)
        try:
            await raw.execute(schema_sql(engine))
            await raw.execute(insert_sql(engine, seed()))
            rows_before, schema_before = await rows_snapshot(raw), await schema_snapshot(raw)
            first = await run_newapi("migrate", cwd=workdir, **env)
            after_first = {**await schema_snapshot(raw), "rows": await rows_snapshot(raw)}
            added = await _added_values(raw) if first.code == 0 else {}
            second = await run_newapi("migrate", cwd=workdir, **env)
            after_second = {**await schema_snapshot(raw), "rows": await rows_snapshot(raw)}
            yield Adopted(
                engine,
                env,
                workdir,
                raw,
                rows_before,
                schema_before,
                first,
                second,
                after_first,
                after_second,
                added,
            )
        finally:
            await raw.close()


@pytest.fixture(scope="module")
async def server(adopted: Adopted) -> AsyncIterator[Gateway]:
    assert adopted.first.code == 0, adopted.first.output
    gateway = Gateway(adopted.workdir, adopted.env)
    await gateway.start()
    yield gateway
    await gateway.stop()


async def _login(server: Gateway, username: str, password: str) -> ApiClient:
    client = ApiClient(server.url)
    reply = await client.login(username, password)
    assert reply.success, reply.body
    return client


# --- the migration ----------------------------------------------------------------------------


async def test_migrate_adds_missing_columns_indexes_and_tables(adopted: Adopted) -> None:
    assert adopted.first.code == 0, adopted.first.output
    assert "adopting existing schema" in adopted.first.output
    after = adopted.after_first
    for table, columns in MISSING_COLUMNS.items():
        assert set(columns) <= set(after["columns"][table]), table
    for table, indexes in MISSING_INDEXES.items():
        assert set(indexes) <= set(after["indexes"][table]), table
    assert after["indexes"]["logs"]["idx_user_id_id"] == ("user_id", "id")
    assert "setups" in after["tables"]  # a missing table is created
    # New columns read as their defaults on the rows that were already there.
    assert {(r["created_at"], r["last_login_at"]) for r in adopted.added_values["users"]} == {
        (0, 0)
    }
    assert adopted.added_values["top_ups"] == [{"payment_provider": ""}]
    assert adopted.added_values["logs"] == [{"request_id": "", "upstream_request_id": ""}] * 2
    assert adopted.added_values["quota_data"] == [
        {"use_group": "", "token_id": 0, "channel_id": 0, "node_name": ""}
    ]


async def test_migrate_drops_renames_and_retypes_nothing(adopted: Adopted) -> None:
    before, after = adopted.schema_before, adopted.after_first
    assert set(before["tables"]) <= set(after["tables"])
    for table in before["tables"]:
        kept = {c: t for c, t in after["columns"][table].items() if c in before["columns"][table]}
        assert kept == before["columns"][table], table
        for name, columns in before["indexes"][table].items():
            assert after["indexes"][table].get(name) == columns, (table, name)
    for (table, column), declared in KEPT_TYPES[adopted.engine].items():
        assert after["columns"][table][column] == declared, (table, column)
    # JAN26's idx_created_at_id is on (id, created_at): left as it is, never rebuilt.
    assert after["indexes"]["logs"]["idx_created_at_id"] == ("id", "created_at")
    assert "legacy_note" in after["columns"]["users"] and "checkins" in after["tables"]


async def test_every_row_and_value_survives(adopted: Adopted) -> None:
    assert adopted.after_first["rows"] == adopted.rows_before
    users = {u["username"]: u for u in adopted.after_first["rows"]["users"]}
    assert users["alice"]["legacy_note"] == "alice's note"
    assert users["root"]["password"].startswith("$2a$10$")
    assert users["bob"]["deleted_at"] is not None
    assert [c["quota_awarded"] for c in adopted.after_first["rows"]["checkins"]] == [1000]
    keys = [t["key"] for t in adopted.after_first["rows"]["tokens"]]
    assert keys == [ALICE_KEY, ALICE_DELETED_KEY, keys[2]] and len(keys[2]) == 48


async def test_second_migrate_is_a_no_op(adopted: Adopted) -> None:
    assert adopted.second.code == 0, adopted.second.output
    assert "0 migration(s) applied" in adopted.second.output
    assert "adopting existing schema" not in adopted.second.output
    assert adopted.after_second == adopted.after_first


# --- serving the adopted database ---------------------------------------------------------------


async def test_setup_counts_as_done_because_root_exists(adopted: Adopted, server: Gateway) -> None:
    anon = ApiClient(server.url)
    try:
        setup = await anon.get("/api/setup")
        assert setup.data == {
            "status": True,
            "root_init": True,
            "database_type": adopted.engine,
        }
        status = await anon.get("/api/status")
        assert status.data["setup"] is True and status.data["system_name"] == SYSTEM_NAME
        again = await anon.post(
            "/api/setup",
            {"username": "intruder", "password": "12345678x", "confirmPassword": "12345678x"},
        )
        assert not again.success
    finally:
        await anon.close()
    rows = await adopted.raw.fetch("SELECT version FROM setups")
    assert len(rows) == 1  # new-api's CheckSetup wrote the missing row


async def test_existing_passwords_log_in_and_deleted_users_do_not(server: Gateway) -> None:
    root = await _login(server, "root", ROOT_PASSWORD)
    alice = await _login(server, "alice", ALICE_PASSWORD)
    anon = ApiClient(server.url)
    try:
        me = (await alice.get("/api/user/self")).data
        assert (me["id"], me["role"], me["email"], me["quota"]) == (
            2,
            1,
            "alice@example.com",
            500_000,
        )
        assert (me["used_quota"], me["request_count"], me["aff_code"]) == (1234, 7, "Ab3x")
        assert (await root.get("/api/user/self")).data["role"] == 100
        assert not (await anon.login("bob", BOB_PASSWORD)).success
        assert not (await anon.login("alice", ROOT_PASSWORD)).success
    finally:
        for client in (root, alice, anon):
            await client.close()


async def test_adopted_tokens_are_listed_revealed_and_extended(
    adopted: Adopted, server: Gateway
) -> None:
    alice = await _login(server, "alice", ALICE_PASSWORD)
    try:
        listed = (await alice.get("/api/token/")).data
        assert listed["total"] == 1  # the soft-deleted token stays hidden
        token = listed["items"][0]
        assert (token["id"], token["name"], token["model_limits"]) == (
            1,
            "alice-key",
            "gpt-4o,gpt-4o-mini",
        )
        assert token["model_limits_enabled"] is True and token["remain_quota"] == 1000
        assert (await alice.post("/api/token/1/key")).data == {"key": ALICE_KEY}
        assert not (await alice.get("/api/token/2")).success
        created = await alice.post("/api/token/", {"name": "after-adoption"})
        assert created.success, created.body
    finally:
        await alice.close()
    # The new key fits the adopted char(48) column.
    rows = await adopted.raw.fetch("SELECT * FROM tokens ORDER BY id")
    assert [r["name"] for r in rows][-1] == "after-adoption"
    assert len(rows[-1]["key"].strip()) == 48 and rows[-1]["id"] == 4


async def test_admin_lists_show_adopted_users_channels_and_logs(server: Gateway) -> None:
    root = await _login(server, "root", ROOT_PASSWORD)
    try:
        users = (await root.get("/api/user/", params={"page_size": 100})).data
        by_name = {u["username"]: u for u in users["items"]}
        assert users["total"] == 3 and set(by_name) == {"root", "alice", "bob"}
        # Each engine's Go driver stored it its own way (SQLite: text with nanoseconds and +08:00).
        assert by_name["bob"]["DeletedAt"].startswith("2025-11-03T")
        assert by_name["alice"]["DeletedAt"] is None
        assert all(u["password"] == "" for u in users["items"])
        channels = (await root.get("/api/channel/")).data
        assert [(c["id"], c["name"]) for c in channels["items"]] == [(1, "legacy-openai")]
        assert channels["items"][0]["balance"] == 12.5
        assert CHANNEL_KEY not in str(channels)
        logs = (await root.get("/api/log/")).data
        assert {log["content"] for log in logs["items"]} >= {"consume", "manage"}
    finally:
        await root.close()


async def test_an_index_the_adopted_rows_refuse_stops_with_one_line(tmp_path: Path) -> None:
    """A B-tree entry is at most ~2.7 KB on PostgreSQL: migrate stops (as GORM's AutoMigrate
    would), says which statement and why, and continues once the data is fixed."""
    huge = secrets.token_hex(6000)  # random, so compression cannot bring it under the limit
    async with empty_database("postgres", tmp_path) as (env, target):
        raw = await RawDatabase.connect("postgres", target)
        try:
            await raw.execute(schema_sql("postgres"))
            await raw.execute(
                [
                    'ALTER TABLE "logs" ADD COLUMN "request_id" text',
                    f'INSERT INTO "logs" ("id", "request_id") VALUES (1, \'{huge}\')',
                ]
            )
            refused = await run_newapi("migrate", cwd=tmp_path, **env)
            assert refused.code == 1 and "Traceback" not in refused.output
            last = refused.output.strip().splitlines()[-1]
            assert last.startswith("newapi: the database refused `CREATE INDEX")
            assert '"idx_logs_request_id"' in last and "index row" in last
            assert huge not in refused.output
            assert await raw.fetch('SELECT "request_id" FROM "logs"') == [{"request_id": huge}]
            await raw.execute(['UPDATE "logs" SET "request_id" = \'req-1\''])
            rerun = await run_newapi("migrate", cwd=tmp_path, **env)
            assert rerun.code == 0, rerun.output
            assert {"idx_logs_request_id", "idx_user_id_id"} <= set(await raw.indexes("logs"))
        finally:
            await raw.close()
