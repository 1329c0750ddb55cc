"""Dashboard series over real HTTP: sums per bucket, per user, the own view and its 30-day cap."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root
from tests.support.services import MYSQL_HOST, MYSQL_PORT, mysql_database

H0 = 1_699_999_200  # an hour boundary
H1 = H0 + 3600
DAY = 24 * 3600
BOB_PASSWORD = "bob-password-1"


def row(
    user_id: int, username: str, model: str, created_at: int, tokens: int, count: int, quota: int
) -> dict[str, Any]:
    return {
        "id": 0,
        "user_id": user_id,
        "username": username,
        "model_name": model,
        "created_at": created_at,
        "token_used": tokens,
        "count": count,
        "quota": quota,
    }


@pytest.fixture(scope="module")
async def bob(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    client = ApiClient(gateway.url)
    reply = await client.post("/api/user/register", {"username": "bob", "password": BOB_PASSWORD})
    assert reply.success, reply.body
    assert (await client.login("bob", BOB_PASSWORD)).success
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def ids(gateway: Gateway, root: ApiClient, bob: ApiClient) -> tuple[int, int]:
    root_id = (await root.get("/api/user/self")).data["id"]
    bob_id = bob.user_id or 0
    buckets = [
        (root_id, "root", "gpt-4o", H0, 10, 1, 100, 1),
        # Same user, model and hour, another token: summed into one bucket.
        (root_id, "root", "gpt-4o", H0, 5, 2, 50, 2),
        (bob_id, "bob", "gpt-4o", H0, 1, 1, 7, 3),
        (bob_id, "bob", "claude-x", H1, 2, 1, 9, 3),
        (root_id, "root", "claude-x", H1, 4, 3, 40, 1),
        (bob_id, "bob", "gpt-4o", H0 - 40 * DAY, 100, 100, 1000, 3),
    ]
    path = gateway.workdir / "one-api.db"
    with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
        conn.executemany(
            "INSERT INTO quota_data (user_id, username, model_name, created_at, token_used,"
            " count, quota, token_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            buckets,
        )
    return root_id, bob_id


async def test_admin_sums_per_model_and_hour(root: ApiClient, ids: tuple[int, int]) -> None:
    reply = await root.get("/api/data/", params={"start_timestamp": H0, "end_timestamp": H1})
    assert reply.success, reply.body
    assert reply.data == [
        row(0, "", "gpt-4o", H0, 16, 4, 157),
        row(0, "", "claude-x", H1, 6, 4, 49),
    ]
    first_hour = await root.get("/api/data/", params={"start_timestamp": H0, "end_timestamp": H0})
    assert [r["created_at"] for r in first_hour.data] == [H0]


async def test_admin_one_user(root: ApiClient, ids: tuple[int, int]) -> None:
    root_id, bob_id = ids
    params = {"start_timestamp": H0, "end_timestamp": H1}
    bob_rows = await root.get("/api/data/", params={**params, "username": "bob"})
    assert bob_rows.data == [
        row(bob_id, "bob", "gpt-4o", H0, 1, 1, 7),
        row(bob_id, "bob", "claude-x", H1, 2, 1, 9),
    ]
    root_rows = await root.get("/api/data/", params={**params, "username": "root"})
    assert root_rows.data == [
        row(root_id, "root", "gpt-4o", H0, 15, 3, 150),
        row(root_id, "root", "claude-x", H1, 4, 3, 40),
    ]
    nobody = await root.get("/api/data/", params={**params, "username": "nobody"})
    assert nobody.success and nobody.data == []


async def test_admin_per_user(root: ApiClient, ids: tuple[int, int]) -> None:
    reply = await root.get("/api/data/users", params={"start_timestamp": H0, "end_timestamp": H1})
    assert reply.data == [
        row(0, "bob", "", H0, 1, 1, 7),
        row(0, "root", "", H0, 15, 3, 150),
        row(0, "bob", "", H1, 2, 1, 9),
        row(0, "root", "", H1, 4, 3, 40),
    ]


async def test_self_sees_only_own_rows(
    root: ApiClient, bob: ApiClient, ids: tuple[int, int]
) -> None:
    root_id, bob_id = ids
    params = {"start_timestamp": H0, "end_timestamp": H1}
    mine = await bob.get("/api/data/self", params=params)
    assert mine.data == [
        row(bob_id, "bob", "gpt-4o", H0, 1, 1, 7),
        row(bob_id, "bob", "claude-x", H1, 2, 1, 9),
    ]
    roots = await root.get("/api/data/self", params=params)
    assert roots.data == [
        row(root_id, "root", "gpt-4o", H0, 15, 3, 150),
        row(root_id, "root", "claude-x", H1, 4, 3, 40),
    ]
    for path in ("/api/data/", "/api/data/users"):
        denied = await bob.get(path, params=params)
        assert denied.status == 200 and not denied.success


async def test_self_span_is_at_most_30_days(bob: ApiClient, ids: tuple[int, int]) -> None:
    start = H0 - 40 * DAY
    too_long = await bob.get(
        "/api/data/self", params={"start_timestamp": start, "end_timestamp": start + 30 * DAY + 1}
    )
    assert not too_long.success and "30 days" in too_long.message
    exactly = await bob.get(
        "/api/data/self", params={"start_timestamp": start, "end_timestamp": start + 30 * DAY}
    )
    assert exactly.success
    assert [(r["created_at"], r["quota"]) for r in exactly.data] == [(start, 1000)]


async def test_bad_ranges(root: ApiClient, bob: ApiClient, ids: tuple[int, int]) -> None:
    missing = await root.get("/api/data/", params={"start_timestamp": H0})
    assert missing.status == 200 and not missing.success and "end_timestamp" in missing.message
    words = await bob.get("/api/data/self", params={"start_timestamp": "x", "end_timestamp": 1})
    assert not words.success and "start_timestamp" in words.message
    backwards = await root.get(
        "/api/data/users", params={"start_timestamp": H1, "end_timestamp": H0}
    )
    assert not backwards.success


async def test_sums_on_mysql(start_gateway: StartGateway, tmp_path: Path) -> None:
    """The grouped sums also hold on MySQL/MariaDB (ONLY_FULL_GROUP_BY, DECIMAL sums)."""
    import asyncmy

    async with mysql_database() as dsn:
        server = await start_gateway(tmp_path, SQL_DSN=dsn)
        admin = await setup_root(server.url)
        try:
            database = dsn.split("/", 1)[1].split("?", 1)[0]
            conn = await asyncmy.connect(
                host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", db=database
            )
            try:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO quota_data (user_id, username, model_name, created_at,"
                        " token_used, `count`, quota) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [
                            (admin.user_id, "root", "gpt-4o", H0, 10, 1, 100),
                            (admin.user_id, "root", "gpt-4o", H0, 5, 2, 50),
                            (admin.user_id, "root", "claude-x", H1, 4, 3, 40),
                        ],
                    )
                await conn.commit()
            finally:
                conn.close()
            params = {"start_timestamp": H0, "end_timestamp": H1}
            reply = await admin.get("/api/data/", params=params)
            assert reply.data == [
                row(0, "", "gpt-4o", H0, 15, 3, 150),
                row(0, "", "claude-x", H1, 4, 3, 40),
            ]
            users = await admin.get("/api/data/users", params=params)
            assert [(r["username"], r["quota"]) for r in users.data] == [
                ("root", 150),
                ("root", 40),
            ]
            own = await admin.get("/api/data/self", params=params)
            assert [(r["user_id"], r["count"]) for r in own.data] == [(admin.user_id, 3)] * 2
        finally:
            await admin.close()
