"""Usage logs over real HTTP: filters, ordering, pages, stats, the user view, cleanup."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartGateway
from tests.support.gateway import ROOT_PASSWORD, ROOT_USER, ApiClient, Gateway
from tests.support.services import postgres_database

T0 = 1_700_000_000
WINDOW = {"start_timestamp": T0, "end_timestamp": T0 + 100, "page_size": 100}
CHANNEL_KEY = "sk-channel-secret-do-not-leak"
ALICE_PASSWORD = "alice-password-1"
LOG_FIELDS = {
    "id",
    "user_id",
    "created_at",
    "type",
    "content",
    "username",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "channel",
    "channel_name",
    "token_id",
    "group",
    "ip",
    "request_id",
    "upstream_request_id",
    "other",
}


@contextmanager
def database(gateway: Gateway) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)) as conn, conn:
        yield conn


def insert_log(conn: sqlite3.Connection, **values: Any) -> int:
    columns = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    cursor = conn.execute(f"INSERT INTO logs ({columns}) VALUES ({marks})", list(values.values()))
    return int(cursor.lastrowid or 0)


def insert_channel(conn: sqlite3.Connection, name: str) -> int:
    cursor = conn.execute(
        'INSERT INTO channels (type, key, status, name, models, "group")'
        " VALUES (1, ?, 1, ?, '', '')",
        (CHANNEL_KEY, name),
    )
    return int(cursor.lastrowid or 0)


async def register(gateway: Gateway, username: str, password: str) -> ApiClient:
    client = ApiClient(gateway.url)
    reply = await client.post("/api/user/register", {"username": username, "password": password})
    assert reply.success, reply.body
    assert (await client.login(username, password)).success
    return client


@dataclass
class Seed:
    root_id: int
    alice_id: int
    chan_a: int
    chan_b: int


@pytest.fixture(scope="module")
async def alice(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    client = await register(gateway, "alice", ALICE_PASSWORD)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def seed(gateway: Gateway, root: ApiClient, alice: ApiClient) -> Seed:
    """Rows labelled by ``content``; every one of them lies in [T0, T0 + 100]."""
    root_id = (await root.get("/api/user/self")).data["id"]
    alice_id = alice.user_id or 0
    admin_other = {
        "admin_info": {"use_channel": [1]},
        "audit_info": {"route": "/v1/chat/completions"},
        "stream_status": {"status": "ok"},
        "model_ratio": 1.25,
    }
    with database(gateway) as conn:
        chan_a, chan_b = insert_channel(conn, "chan-a"), insert_channel(conn, "chan-b")
        rows: list[dict[str, Any]] = [
            dict(content="r1", user_id=root_id, username="root", created_at=T0 + 10, type=2,
                 model_name="gpt-4o", token_name="t1", channel_id=chan_a, group="default",
                 quota=100, prompt_tokens=10, completion_tokens=5, request_id="req-1",
                 other=json.dumps(admin_other)),
            dict(content="a1", user_id=alice_id, username="alice", created_at=T0 + 15, type=2,
                 model_name="gpt-4o", token_name="alice-key", channel_id=chan_a,
                 group="default", quota=7, other=json.dumps(admin_other), is_stream=1),
            dict(content="r2", user_id=root_id, username="root", created_at=T0 + 20, type=2,
                 model_name="gpt-4o-mini", token_name="t2", channel_id=chan_b, group="vip",
                 quota=200, upstream_request_id="up-2"),
            dict(content="r3", user_id=root_id, username="root", created_at=T0 + 20, type=1,
                 quota=5000),
            dict(content="a2", user_id=alice_id, username="alice", created_at=T0 + 25, type=2,
                 model_name="claude-x", token_name="alice-key", group="default", quota=11,
                 other=""),
            dict(content="r4", user_id=root_id, username="root", created_at=T0 + 30, type=3),
            dict(content="a3", user_id=alice_id, username="alice", created_at=T0 + 35, type=4,
                 other="not json"),
            dict(content="r5", user_id=root_id, username="root", created_at=T0 + 40, type=2,
                 model_name="gpt-4o", channel_id=987654, group="default", quota=300),
        ]  # fmt: skip
        for row in rows:
            insert_log(conn, **row)
    return Seed(root_id, alice_id, chan_a, chan_b)


def contents(reply: Any) -> list[str]:
    assert reply.success, reply.body
    return [item["content"] for item in reply.data["items"]]


ALL_NEWEST_FIRST = ["r5", "a3", "r4", "a2", "r3", "r2", "a1", "r1"]


async def test_admin_list_orders_newest_first(root: ApiClient, seed: Seed) -> None:
    reply = await root.get("/api/log/", params=WINDOW)
    # r2 and r3 share created_at: the later id comes first.
    assert contents(reply) == ALL_NEWEST_FIRST
    assert reply.data["total"] == 8 and reply.data["page"] == 1


async def test_admin_list_pages(root: ApiClient, seed: Seed) -> None:
    pages = []
    for number in (1, 2, 3):
        reply = await root.get("/api/log/", params={**WINDOW, "p": number, "page_size": 3})
        assert reply.data["total"] == 8 and reply.data["page_size"] == 3
        pages.append(contents(reply))
    assert pages == [ALL_NEWEST_FIRST[:3], ALL_NEWEST_FIRST[3:6], ALL_NEWEST_FIRST[6:]]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"type": 2}, ["r5", "a2", "r2", "a1", "r1"]),
        ({"type": 1}, ["r3"]),
        ({"type": 0}, ALL_NEWEST_FIRST),
        ({"username": "alice"}, ["a3", "a2", "a1"]),
        ({"token_name": "alice-key"}, ["a2", "a1"]),
        ({"model_name": "gpt-4o"}, ["r5", "a1", "r1"]),
        ({"model_name": "gpt-4o%"}, ["r5", "r2", "a1", "r1"]),
        ({"model_name": "%mini"}, ["r2"]),
        ({"group": "vip"}, ["r2"]),
        ({"request_id": "req-1"}, ["r1"]),
        ({"upstream_request_id": "up-2"}, ["r2"]),
        ({"start_timestamp": T0 + 20, "end_timestamp": T0 + 30}, ["r4", "a2", "r3", "r2"]),
        ({"type": 2, "username": "root", "model_name": "gpt-4o"}, ["r5", "r1"]),
        ({"username": "nobody"}, []),
    ],
)
async def test_admin_filters(
    root: ApiClient, seed: Seed, extra: dict[str, Any], expected: list[str]
) -> None:
    reply = await root.get("/api/log/", params={**WINDOW, **extra})
    assert contents(reply) == expected
    assert reply.data["total"] == len(expected)


async def test_channel_filter_and_names(root: ApiClient, seed: Seed) -> None:
    reply = await root.get("/api/log/", params={**WINDOW, "channel": seed.chan_a})
    assert contents(reply) == ["a1", "r1"]
    everything = await root.get("/api/log/", params=WINDOW)
    rows = {item["content"]: item for item in everything.data["items"]}
    assert set(rows["r1"]) == LOG_FIELDS
    assert (rows["r1"]["channel"], rows["r1"]["channel_name"]) == (seed.chan_a, "chan-a")
    assert (rows["r2"]["channel"], rows["r2"]["channel_name"]) == (seed.chan_b, "chan-b")
    # A channel that no longer exists keeps its id but has no name.
    assert (rows["r5"]["channel"], rows["r5"]["channel_name"]) == (987654, "")
    assert rows["r3"]["channel"] == 0 and rows["r3"]["channel_name"] == ""
    # Admins see ``other`` as stored, as a JSON string.
    assert json.loads(rows["r1"]["other"])["admin_info"] == {"use_channel": [1]}
    assert rows["a1"]["is_stream"] is True and rows["r1"]["is_stream"] is False
    assert rows["r1"]["prompt_tokens"] == 10 and rows["r1"]["request_id"] == "req-1"
    assert CHANNEL_KEY not in json.dumps(everything.body)


async def test_self_view_strips_and_numbers_rows(alice: ApiClient, seed: Seed) -> None:
    reply = await alice.get("/api/log/self", params=WINDOW)
    assert contents(reply) == ["a3", "a2", "a1"]
    items = reply.data["items"]
    assert [item["id"] for item in items] == [1, 2, 3]
    assert all(set(item) == LOG_FIELDS for item in items)
    a1 = items[2]
    assert json.loads(a1["other"]) == {"model_ratio": 1.25}
    assert a1["channel_name"] == "" and a1["quota"] == 7 and a1["username"] == "alice"
    assert items[1]["other"] == "" and items[0]["other"] == ""
    second = await alice.get("/api/log/self", params={**WINDOW, "p": 2, "page_size": 2})
    assert contents(second) == ["a1"]
    assert [item["id"] for item in second.data["items"]] == [3]
    assert second.data["total"] == 3


async def test_self_view_ignores_username_and_channel(alice: ApiClient, seed: Seed) -> None:
    reply = await alice.get(
        "/api/log/self", params={**WINDOW, "username": "root", "channel": seed.chan_b}
    )
    assert contents(reply) == ["a3", "a2", "a1"]
    filtered = await alice.get(
        "/api/log/self", params={**WINDOW, "type": 2, "model_name": "gpt-4o"}
    )
    assert contents(filtered) == ["a1"]


async def test_users_never_see_other_users_logs(alice: ApiClient, seed: Seed) -> None:
    reply = await alice.get("/api/log/self", params={"page_size": 100})
    assert reply.success
    assert reply.data["items"], "alice should see her own rows"
    assert all(item["username"] == "alice" for item in reply.data["items"])
    assert not {item["content"] for item in reply.data["items"]} & {"r1", "r2", "r3", "r4", "r5"}
    denied = await alice.get("/api/log/", params=WINDOW)
    assert denied.status == 200 and not denied.success
    assert not (await alice.get("/api/log/stat")).success


async def test_stats(gateway: Gateway, root: ApiClient, alice: ApiClient, seed: Seed) -> None:
    now = int(time.time())
    with database(gateway) as conn:
        recent = dict(created_at=now - 5, group="default", model_name="gpt-4o")
        insert_log(conn, content="recent-root", user_id=seed.root_id, username="root", type=2,
                   quota=1, prompt_tokens=100, completion_tokens=50, **recent)  # fmt: skip
        insert_log(conn, content="recent-alice", user_id=seed.alice_id, username="alice", type=2,
                   quota=2, prompt_tokens=3, completion_tokens=4, **recent)  # fmt: skip
        insert_log(conn, content="recent-topup", user_id=seed.alice_id, username="alice", type=1,
                   quota=999, prompt_tokens=1000, **recent)  # fmt: skip
    window = {"start_timestamp": T0, "end_timestamp": T0 + 100}
    total = await root.get("/api/log/stat", params=window)
    assert total.data == {"quota": 100 + 7 + 200 + 11 + 300, "rpm": 2, "tpm": 157}
    # As in new-api, only consume rows count whatever the type filter says.
    typed = await root.get("/api/log/stat", params={**window, "type": 1})
    assert typed.data == total.data
    one_user = await root.get("/api/log/stat", params={**window, "username": "alice"})
    assert one_user.data == {"quota": 18, "rpm": 1, "tpm": 7}
    by_channel = await root.get("/api/log/stat", params={**window, "channel": seed.chan_a})
    assert by_channel.data["quota"] == 107
    everything = await root.get("/api/log/stat")
    assert everything.data["quota"] == 618 + 3
    own = await alice.get("/api/log/self/stat", params={**window, "username": "root"})
    assert own.data == {"quota": 18, "rpm": 1, "tpm": 7}
    model = await alice.get("/api/log/self/stat", params={**window, "model_name": "claude-x"})
    assert model.data == {"quota": 11, "rpm": 0, "tpm": 0}


async def test_delete_old_logs(gateway: Gateway, root: ApiClient, alice: ApiClient) -> None:
    with database(gateway) as conn:
        for created in (1000, 1001, 1002):
            insert_log(conn, content=f"ancient-{created}", created_at=created, type=4)
    old = {"start_timestamp": 1, "end_timestamp": 2000}
    assert not (await alice.delete("/api/log/", params={"target_timestamp": 1002})).success
    missing = await root.delete("/api/log/")
    assert not missing.success and "target_timestamp" in missing.message
    reply = await root.delete("/api/log/", params={"target_timestamp": 1002})
    assert reply.success and reply.data == 2
    assert contents(await root.get("/api/log/", params=old)) == ["ancient-1002"]
    again = await root.delete("/api/log/", params={"target_timestamp": 1002})
    assert again.data == 0


async def test_deprecated_search_and_bad_input(root: ApiClient, alice: ApiClient) -> None:
    for client, path in ((root, "/api/log/search"), (alice, "/api/log/self/search")):
        reply = await client.get(path, params={"keyword": "x"})
        assert reply.status == 200 and not reply.success and "deprecated" in reply.message
    bad = await root.get("/api/log/", params={"type": "consume"})
    assert bad.status == 200 and not bad.success and "type" in bad.message
    backwards = await root.get("/api/log/", params={"start_timestamp": 10, "end_timestamp": 5})
    assert not backwards.success and "start_timestamp" in backwards.message
    anonymous = ApiClient(root.base_url)
    try:
        assert (await anonymous.get("/api/log/self")).status == 401
    finally:
        await anonymous.close()


async def test_logs_on_their_own_database(start_gateway: StartGateway, tmp_path: Path) -> None:
    """LOG_SQL_DSN puts logs on PostgreSQL: channel names still come from the main database."""
    import asyncpg
    import bcrypt

    async with postgres_database() as log_dsn:
        server = await start_gateway(tmp_path, LOG_SQL_DSN=log_dsn)
        # The root user is written directly: this test is about reading logs, not about setup.
        with database(server) as conn:
            conn.execute(
                "INSERT INTO users (username, password, display_name, role, status, quota)"
                " VALUES (?, ?, 'Root User', 100, 1, 0)",
                (ROOT_USER, bcrypt.hashpw(ROOT_PASSWORD.encode(), bcrypt.gensalt(4)).decode()),
            )
        admin = ApiClient(server.url)
        try:
            assert (await admin.login(ROOT_USER, ROOT_PASSWORD)).success
            with database(server) as conn:
                channel = insert_channel(conn, "main-db-channel")
            now = int(time.time())
            pg = await asyncpg.connect(log_dsn)
            try:
                await pg.executemany(
                    "INSERT INTO logs (user_id, username, created_at, type, content, quota,"
                    ' prompt_tokens, completion_tokens, channel_id, "group", other)'
                    " VALUES ($1, 'root', $2, $3, $4, $5, 10, 20, $6, 'default', '')",
                    [
                        (admin.user_id, now - 5, 2, "pg-new", 40, channel),
                        (admin.user_id, now - 50, 2, "pg-old", 2, 0),
                        (admin.user_id, 1000, 4, "pg-ancient", 0, 0),
                    ],
                )
            finally:
                await pg.close()
            listed = await admin.get("/api/log/", params={"start_timestamp": now - 100})
            assert contents(listed) == ["pg-new", "pg-old"]
            assert listed.data["items"][0]["channel_name"] == "main-db-channel"
            stat = await admin.get("/api/log/stat")
            assert stat.data == {"quota": 42, "rpm": 2, "tpm": 60}
            own = await admin.get("/api/log/self", params={"type": 2})
            assert [item["id"] for item in own.data["items"]] == [1, 2]
            assert (await admin.delete("/api/log/", params={"target_timestamp": 1001})).data == 1
        finally:
            await admin.close()
