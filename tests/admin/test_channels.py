"""Channels over HTTP: create, list, search, edit, status, delete; abilities exact; keys secret.

The ``abilities`` table is read straight from the server's SQLite file and compared row by row.
Every upstream key used here starts with ``SECRET``, so one look at a response or at the server
log shows whether a key leaked.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root
from tests.support.services import MYSQL_HOST, MYSQL_PORT, mysql_database, postgres_database

SECRET = "sk-upstream-secret-"
ABILITY_COLUMNS = '"group", model, channel_id, enabled, priority, weight, tag'


def _db(gateway: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gateway.workdir / "one-api.db", timeout=10)


def _abilities(gateway: Gateway, *channel_ids: int) -> list[tuple[Any, ...]]:
    marks = ",".join("?" * len(channel_ids))
    with _db(gateway) as db:
        rows = db.execute(
            f"SELECT {ABILITY_COLUMNS} FROM abilities WHERE channel_id IN ({marks})",
            channel_ids,
        ).fetchall()
    return sorted(rows)


def _channel_body(**fields: Any) -> dict[str, Any]:
    return {
        "type": 1,
        "name": "chan",
        "key": SECRET + "default",
        "models": "gpt-4o",
        "group": "default",
        **fields,
    }


async def _create(root: ApiClient, mode: str = "single", **fields: Any) -> list[int]:
    reply = await root.post("/api/channel/", {"mode": mode, "channel": _channel_body(**fields)})
    assert reply.success, reply.body
    return reply.data


async def _one(root: ApiClient, **fields: Any) -> int:
    (channel_id,) = await _create(root, **fields)
    return channel_id


async def _raw(client: ApiClient, method: str, path: str, **kw: Any) -> str:
    """The response body exactly as the server sent it."""
    headers = {"New-Api-User": str(client.user_id)}
    async with client.http.request(method, client.base_url + path, headers=headers, **kw) as resp:
        return await resp.text()


async def _user(gateway: Gateway, name: str, role: int) -> ApiClient:
    client = ApiClient(gateway.url)
    password = "password-123456"
    reply = await client.post("/api/user/register", {"username": name, "password": password})
    assert reply.success, reply.body
    with _db(gateway) as db:
        db.execute("UPDATE users SET role = ? WHERE username = ?", (role, name))
    assert (await client.login(name, password)).success
    return client


@pytest.fixture(scope="module")
async def admin(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    client = await _user(gateway, "chanadmin", 10)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def common(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    client = await _user(gateway, "chanuser", 1)
    yield client
    await client.close()


async def _listed(root: ApiClient, path: str = "/api/channel/", **params: Any) -> dict[str, Any]:
    reply = await root.get(path, params={"page_size": 100, **params})
    assert reply.success, reply.body
    return reply.data


def _ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


async def test_create_single_and_read_it_back(root: ApiClient, gateway: Gateway) -> None:
    channel_id = await _one(
        root,
        name="single",
        key=SECRET + "single",
        type=14,
        models=" claude-3-5-haiku-20241022, claude-3-5-haiku-20241022 ,,claude-opus-4-20250514",
        group="default, vip",
        base_url="https://api.example.com/",
        priority=3,
        weight=5,
        tag="single-tag",
        model_mapping='{"claude-3-5-haiku": "claude-3-5-haiku-20241022"}',
        status_code_mapping='{"429": "503"}',
        openai_organization="org-1",
        other="2024-10-21",
        remark="note",
    )
    got = (await root.get(f"/api/channel/{channel_id}")).data
    assert "key" not in got
    expected = {
        "id": channel_id,
        "type": 14,
        "name": "single",
        "status": 1,
        "models": "claude-3-5-haiku-20241022,claude-opus-4-20250514",
        "group": "default,vip",
        "base_url": "https://api.example.com",
        "priority": 3,
        "weight": 5,
        "tag": "single-tag",
        "model_mapping": '{"claude-3-5-haiku": "claude-3-5-haiku-20241022"}',
        "status_code_mapping": '{"429": "503"}',
        "openai_organization": "org-1",
        "other": "2024-10-21",
        "remark": "note",
        "auto_ban": 1,
        "used_quota": 0,
    }
    assert {k: got[k] for k in expected} == expected
    assert got["created_time"] > 0
    assert got["channel_info"]["is_multi_key"] is False
    with _db(gateway) as db:
        (organization,) = db.execute(
            "SELECT open_ai_organization FROM channels WHERE id = ?", (channel_id,)
        ).fetchone()
    assert organization == "org-1"
    assert _abilities(gateway, channel_id) == [
        ("default", "claude-3-5-haiku-20241022", channel_id, 1, 3, 5, "single-tag"),
        ("default", "claude-opus-4-20250514", channel_id, 1, 3, 5, "single-tag"),
        ("vip", "claude-3-5-haiku-20241022", channel_id, 1, 3, 5, "single-tag"),
        ("vip", "claude-opus-4-20250514", channel_id, 1, 3, 5, "single-tag"),
    ]


async def test_batch_makes_one_channel_per_key_line(root: ApiClient, gateway: Gateway) -> None:
    keys = [SECRET + "batch-a1", SECRET + "batch-b2", SECRET + "batch-c3"]
    text = f"{keys[0]}\n\n  {keys[1]}  \n{keys[2]}\n{keys[0]}\n"
    ids = await _create(root, "batch", name="batch", key=text, models="m1,m2", tag="batch")
    assert len(ids) == 3
    revealed = [(await root.post(f"/api/channel/{i}/key")).data["key"] for i in ids]
    assert revealed == keys
    names = {(await root.get(f"/api/channel/{i}")).data["name"] for i in ids}
    assert names == {"batch"}
    assert len(_abilities(gateway, *ids)) == 6
    reply = await root.post(
        "/api/channel/",
        {
            "mode": "batch",
            "batch_add_set_key_prefix_2_name": True,
            "channel": _channel_body(name="pre", key="abcdefghij\nklmnopqrst"),
        },
    )
    assert reply.success, reply.body
    names = sorted([(await root.get(f"/api/channel/{i}")).data["name"] for i in reply.data])
    assert names == ["pre abcdefgh", "pre klmnopqr"]


async def test_multi_to_single_keeps_keys_in_one_channel(root: ApiClient) -> None:
    reply = await root.post(
        "/api/channel/",
        {
            "mode": "multi_to_single",
            "multi_key_mode": "polling",
            "channel": _channel_body(name="multi", key=f"{SECRET}m1\n{SECRET}m2\n\n"),
        },
    )
    assert reply.success, reply.body
    (channel_id,) = reply.data
    info = (await root.get(f"/api/channel/{channel_id}")).data["channel_info"]
    assert info["is_multi_key"] is True
    assert (info["multi_key_size"], info["multi_key_mode"]) == (2, "polling")
    revealed = await root.post(f"/api/channel/{channel_id}/key")
    assert revealed.data == {"key": f"{SECRET}m1\n{SECRET}m2"}
    appended = await root.put(
        "/api/channel/", {"id": channel_id, "key": f"{SECRET}m2\n{SECRET}m3", "key_mode": "append"}
    )
    assert appended.success, appended.body
    assert appended.data["channel_info"]["multi_key_size"] == 3
    revealed = await root.post(f"/api/channel/{channel_id}/key")
    assert revealed.data["key"].split("\n") == [f"{SECRET}m1", f"{SECRET}m2", f"{SECRET}m3"]


def _account(name: str) -> dict[str, str]:
    """Enough of a Vertex AI service-account key for the admin API (it is not used here)."""
    return {
        "type": "service_account",
        "project_id": "proj",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}{name}\n-----END PRIVATE KEY-----\n",
        "client_email": f"{name}@proj.iam.gserviceaccount.com",
    }


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _vertex(key: str, **fields: Any) -> dict[str, Any]:
    return _channel_body(type=41, key=key, models="gemini-2.5-pro", other="us-central1", **fields)


async def _revealed_accounts(root: ApiClient, channel_id: int) -> list[dict[str, Any]]:
    """The stored key, one service account per line."""
    revealed = await root.post(f"/api/channel/{channel_id}/key")
    assert revealed.success, revealed.body
    return [orjson.loads(line) for line in revealed.data["key"].split("\n")]


async def test_vertex_json_array_creates_one_key_per_service_account(root: ApiClient) -> None:
    a, b, c = _account("va"), _account("vb"), _account("vc")
    multi = await root.post(
        "/api/channel/",
        {"mode": "multi_to_single", "channel": _vertex(_pretty([a, b]), name="vx-multi")},
    )
    assert multi.success, multi.body
    (multi_id,) = multi.data
    info = (await root.get(f"/api/channel/{multi_id}")).data["channel_info"]
    assert info["is_multi_key"] is True and info["multi_key_size"] == 2
    assert await _revealed_accounts(root, multi_id) == [a, b]
    batch = await root.post(
        "/api/channel/", {"mode": "batch", "channel": _vertex(_pretty([a, b, c]), name="vx")}
    )
    assert batch.success, batch.body
    assert [await _revealed_accounts(root, i) for i in batch.data] == [[a], [b], [c]]
    # A lone key file in a several-keys mode is refused (new-api), not cut into its lines.
    for mode in ("batch", "multi_to_single"):
        lone = await root.post("/api/channel/", {"mode": mode, "channel": _vertex(_pretty(a))})
        assert not lone.success and "JSON array" in lone.message
        assert SECRET not in str(lone.body)
    # Express mode keys are plain API keys, one per line.
    express = await root.post(
        "/api/channel/",
        {
            "mode": "batch",
            "channel": _vertex(f"{SECRET}e1\n{SECRET}e2", settings='{"vertex_key_type":"api_key"}'),
        },
    )
    assert express.success and len(express.data) == 2, express.body


async def test_vertex_multi_key_edits_take_json(gateway: Gateway, root: ApiClient) -> None:
    a, b, c, d = (_account(n) for n in ("ea", "eb", "ec", "ed"))
    created = await root.post(
        "/api/channel/",
        {"mode": "multi_to_single", "channel": _vertex(orjson.dumps([a]).decode(), name="vx-e")},
    )
    assert created.success, created.body
    (channel_id,) = created.data

    async def edit(key: str, mode: str) -> dict[str, Any]:
        reply = await root.put("/api/channel/", {"id": channel_id, "key": key, "key_mode": mode})
        assert reply.success, reply.body
        return dict(reply.data["channel_info"])

    # One pretty-printed key file appended: one more key, not one per line of its JSON.
    assert (await edit(_pretty(b), "append"))["multi_key_size"] == 2
    assert await _revealed_accounts(root, channel_id) == [a, b]
    # An array appended: repeats left out.
    assert (await edit(_pretty([b, c]), "append"))["multi_key_size"] == 3
    assert await _revealed_accounts(root, channel_id) == [a, b, c]
    assert (await edit(_pretty([d, a]), "replace"))["multi_key_size"] == 2
    assert await _revealed_accounts(root, channel_id) == [d, a]
    assert (await edit(_pretty(c), "replace"))["multi_key_size"] == 1
    for bad in ("not json", '{"unclosed": ', '"a string"', "[1, "):
        reply = await root.put(
            "/api/channel/", {"id": channel_id, "key": bad, "key_mode": "append"}
        )
        assert not reply.success and "JSON" in reply.message, reply.body
    assert await _revealed_accounts(root, channel_id) == [c]
    # new-api stores a replace edit's JSON array as sent; an append reads it element-wise.
    with _db(gateway) as db:
        db.execute("UPDATE channels SET key = ? WHERE id = ?", (_pretty([a, b]), channel_id))
    assert (await edit(_pretty(c), "append"))["multi_key_size"] == 3
    assert await _revealed_accounts(root, channel_id) == [a, b, c]


async def test_list_filters_sorts_paginates_and_counts_types(root: ApiClient) -> None:
    a = await _one(root, name="L-b", tag="list", type=1, priority=5, group="default,vip")
    b = await _one(root, name="L-a", tag="list", type=14, priority=9, group="vipx")
    c = await _one(root, name="L-c", tag="list", type=14, priority=1, status=2, group="vip")
    d = await _one(root, name="L-d", tag="list", type=43, priority=5, group="svip,vip,x")
    everything = await _listed(root, tag="list")
    assert _ids(everything) == [b, d, a, c]  # priority desc, then newest first
    assert everything["total"] == 4
    assert everything["type_counts"] == {"1": 1, "14": 2, "43": 1}
    assert "key" not in everything["items"][0]
    by_name = await _listed(root, tag="list", sort_by="name", sort_order="asc")
    assert _ids(by_name) == [b, a, c, d]
    by_id = await _listed(root, tag="list", id_sort="true")
    assert _ids(by_id) == [d, c, b, a]
    enabled = await _listed(root, tag="list", status="enabled")
    assert _ids(enabled) == [b, d, a]
    disabled = await _listed(root, tag="list", status="0")
    assert _ids(disabled) == [c]
    vip = await _listed(root, tag="list", group="vip", id_sort="1")
    assert _ids(vip) == [d, c, a]  # "vipx" is another group
    typed = await _listed(root, tag="list", type=14)
    assert _ids(typed) == [b, c] and typed["total"] == 2
    assert typed["type_counts"] == {"1": 1, "14": 2, "43": 1}
    first = (await root.get("/api/channel/", params={"tag": "list", "p": 1, "page_size": 3})).data
    second = (await root.get("/api/channel/", params={"tag": "list", "p": 2, "page_size": 3})).data
    assert (first["page"], first["page_size"], first["total"]) == (1, 3, 4)
    assert _ids(first) + _ids(second) == [b, d, a, c]
    bad = await root.get("/api/channel/", params={"type": "openai"})
    assert not bad.success and "type" in bad.message


async def test_search_by_keyword_model_group_status_type(root: ApiClient) -> None:
    key = SECRET + "searchable"
    a = await _one(root, name="Find Me", key=key, tag="srch", models="gpt-4o,o3-mini")
    b = await _one(
        root, name="other", base_url="https://find.example.com", tag="srch", type=43, status=2
    )
    found = await _listed(root, "/api/channel/search", keyword="find", id_sort="1")
    assert set(_ids(found)) >= {a, b}
    assert all("key" not in item for item in found["items"])
    by_id = await _listed(root, "/api/channel/search", keyword=str(b))
    assert b in _ids(by_id)
    by_key = await _listed(root, "/api/channel/search", keyword=key)
    assert by_key["total"] == 0  # keys are never searchable
    by_model = await _listed(root, "/api/channel/search", keyword="find", model="o3-mini")
    assert _ids(by_model) == [a]
    enabled = await _listed(root, "/api/channel/search", keyword="find", status="enabled")
    assert b not in _ids(enabled) and a in _ids(enabled)
    typed = await _listed(root, "/api/channel/search", keyword="find", type=43)
    assert _ids(typed) == [b]
    assert typed["type_counts"].get("43") == 1 and typed["type_counts"].get("1", 0) >= 1
    tagged = await _listed(root, "/api/channel/search", tag="srch", group="default")
    assert sorted(_ids(tagged)) == sorted([a, b])


async def test_keys_never_leave_except_to_root(
    root: ApiClient, admin: ApiClient, common: ApiClient
) -> None:
    key = SECRET + "hidden-one"
    channel_id = await _one(root, name="hidden", key=key, tag="hidden")
    for path in (
        "/api/channel/?page_size=100",
        "/api/channel/search?keyword=hidden",
        f"/api/channel/{channel_id}",
    ):
        text = await _raw(root, "GET", path)
        assert '"success":true' in text and key not in text and '"key"' not in text
    edited = await _raw(root, "PUT", "/api/channel/", json={"id": channel_id, "name": "hidden2"})
    assert '"success":true' in edited and key not in edited
    assert (await root.post(f"/api/channel/{channel_id}/key")).data == {"key": key}
    refused = await admin.post(f"/api/channel/{channel_id}/key")
    assert not refused.success and key not in str(refused.body)
    assert (await admin.get(f"/api/channel/{channel_id}")).success
    assert not (await common.get("/api/channel/")).success
    assert not (await common.get(f"/api/channel/{channel_id}")).success


async def test_edit_rebuilds_abilities_and_keeps_the_key(root: ApiClient, gateway: Gateway) -> None:
    key = SECRET + "edit-me"
    channel_id = await _one(
        root,
        name="edit",
        key=key,
        models="a,b",
        group="default,vip",
        priority=5,
        weight=3,
        tag="t1",
    )
    assert _abilities(gateway, channel_id) == [
        ("default", "a", channel_id, 1, 5, 3, "t1"),
        ("default", "b", channel_id, 1, 5, 3, "t1"),
        ("vip", "a", channel_id, 1, 5, 3, "t1"),
        ("vip", "b", channel_id, 1, 5, 3, "t1"),
    ]
    reply = await root.put(
        "/api/channel/",
        {
            "id": channel_id,
            "models": "b, c",
            "group": "vip",
            "priority": -2,
            "weight": 0,
            "tag": "t2",
            "key": "",
        },
    )
    assert reply.success, reply.body
    assert (reply.data["models"], reply.data["group"], reply.data["priority"]) == ("b,c", "vip", -2)
    assert _abilities(gateway, channel_id) == [
        ("vip", "b", channel_id, 1, -2, 0, "t2"),
        ("vip", "c", channel_id, 1, -2, 0, "t2"),
    ]
    assert (await root.post(f"/api/channel/{channel_id}/key")).data["key"] == key
    renamed = await root.put("/api/channel/", {"id": channel_id, "name": "edited"})
    assert renamed.success
    got = (await root.get(f"/api/channel/{channel_id}")).data
    assert (got["name"], got["models"], got["tag"], got["weight"]) == ("edited", "b,c", "t2", 0)
    assert (await root.post(f"/api/channel/{channel_id}/key")).data["key"] == key
    new_key = SECRET + "edit-me-2"
    assert (await root.put("/api/channel/", {"id": channel_id, "key": new_key})).success
    assert (await root.post(f"/api/channel/{channel_id}/key")).data["key"] == new_key
    disabled = await root.put("/api/channel/", {"id": channel_id, "status": 2})
    assert disabled.success
    assert {row[3] for row in _abilities(gateway, channel_id)} == {0}


async def test_status_changes_follow_into_abilities(root: ApiClient, gateway: Gateway) -> None:
    model = "status-model-x"
    one = await _one(root, name="s1", models=model, tag="status")
    two = await _one(root, name="s2", models=model, tag="status")
    assert model in (await root.get("/api/channel/models_enabled")).data
    off = await root.post(f"/api/channel/{one}/status", {"status": 2})
    assert off.success and off.data is True
    again = await root.post(f"/api/channel/{one}/status", {"status": 2})
    assert again.success and again.data is False
    assert [row[3] for row in _abilities(gateway, one)] == [0]
    assert [row[3] for row in _abilities(gateway, two)] == [1]
    got = (await root.get(f"/api/channel/{one}")).data
    assert got["status"] == 2 and "manual operation" in got["other_info"]
    batch = await root.post("/api/channel/status/batch", {"ids": [one, two], "status": 2})
    assert batch.success and batch.data == 1
    assert model not in (await root.get("/api/channel/models_enabled")).data
    batch = await root.post("/api/channel/status/batch", {"ids": [one, two], "status": 1})
    assert batch.data == 2
    assert [row[3] for row in _abilities(gateway, one, two)] == [1, 1]
    assert model in (await root.get("/api/channel/models_enabled")).data
    assert (await root.post("/api/channel/tag/disabled", {"tag": "status"})).success
    assert [row[3] for row in _abilities(gateway, one, two)] == [0, 0]
    assert (await root.post("/api/channel/tag/enabled", {"tag": "status"})).success
    assert [row[3] for row in _abilities(gateway, one, two)] == [1, 1]
    for bad in ({"status": 3}, {"status": 0}, {"status": "on"}, {}):
        reply = await root.post(f"/api/channel/{one}/status", bad)
        assert not reply.success and "status" in reply.message
    missing = await root.post("/api/channel/987654/status", {"status": 1})
    assert not missing.success and "not found" in missing.message


async def test_batch_tag_updates_channels_and_abilities(root: ApiClient, gateway: Gateway) -> None:
    ids = await _create(root, "batch", name="tagged", key=f"{SECRET}t1\n{SECRET}t2")
    reply = await root.post("/api/channel/batch/tag", {"ids": ids, "tag": "new-tag"})
    assert reply.success and reply.data == 2
    assert {row[6] for row in _abilities(gateway, *ids)} == {"new-tag"}
    assert sorted(_ids(await _listed(root, tag="new-tag"))) == sorted(ids)
    models = await root.get("/api/channel/tag/models", params={"tag": "new-tag"})
    assert models.data == "gpt-4o"
    cleared = await root.post("/api/channel/batch/tag", {"ids": ids, "tag": ""})
    assert cleared.success
    assert {row[6] for row in _abilities(gateway, *ids)} == {None}
    assert (await root.get(f"/api/channel/{ids[0]}")).data["tag"] is None


async def test_tag_edit_changes_the_shared_fields_of_every_tagged_channel(
    root: ApiClient, gateway: Gateway
) -> None:
    ids = await _create(root, "batch", name="tedit", key=f"{SECRET}e1\n{SECRET}e2", tag="team")
    other = await _one(root, name="untagged")
    reply = await root.put(
        "/api/channel/tag",
        {
            "tag": "team",
            "new_tag": "team-b",
            "priority": 7,
            "weight": 3,
            "models": "gpt-4o,gpt-4o-mini",
            "groups": "default,vip",
            "model_mapping": '{"gpt-4o": "gpt-4o-2024-11-20"}',
        },
    )
    assert reply.success and reply.data == 2, reply.body
    for channel_id in ids:
        row = (await root.get(f"/api/channel/{channel_id}")).data
        assert (row["tag"], row["priority"], row["weight"]) == ("team-b", 7, 3)
        assert (row["models"], row["group"]) == ("gpt-4o,gpt-4o-mini", "default,vip")
        assert row["name"].startswith("tedit")  # untouched fields stay
    rows = _abilities(gateway, *ids)
    assert (
        len(rows) == 2 * 2 * 2
        and {r[4] for r in rows} == {7}
        and {r[6] for r in rows} == {"team-b"}
    )
    assert (await root.get(f"/api/channel/{other}")).data["priority"] != 7
    bad = await root.put("/api/channel/tag", {"tag": "team-b", "model_mapping": "[1]"})
    assert not bad.success
    empty = await root.put("/api/channel/tag", {"tag": "team-b"})
    assert not empty.success and "nothing to change" in empty.message
    removed = await root.put("/api/channel/tag", {"tag": "team-b", "new_tag": ""})
    assert removed.success and removed.data == 2
    assert (await root.get(f"/api/channel/{ids[0]}")).data["tag"] is None


async def test_delete_removes_channels_and_abilities(root: ApiClient, gateway: Gateway) -> None:
    single = await _one(root, name="del-1")
    assert _abilities(gateway, single)
    assert (await root.delete(f"/api/channel/{single}")).success
    assert _abilities(gateway, single) == []
    missing = await root.get(f"/api/channel/{single}")
    assert not missing.success and "not found" in missing.message
    again = await root.delete(f"/api/channel/{single}")
    assert not again.success and "not found" in again.message
    batch = await _create(root, "batch", name="del-b", key=f"{SECRET}d1\n{SECRET}d2")
    reply = await root.post("/api/channel/batch", {"ids": [*batch, 987654]})
    assert reply.success and reply.data == 2
    assert _abilities(gateway, *batch) == []
    off = await _one(root, name="del-off", status=2)
    auto = await _one(root, name="del-auto", status=3)
    on = await _one(root, name="del-on")
    reply = await root.delete("/api/channel/disabled")
    assert reply.success and reply.data >= 2
    remaining = _ids(await _listed(root, id_sort="1"))
    assert on in remaining and off not in remaining and auto not in remaining
    assert _abilities(gateway, off, auto) == [] and _abilities(gateway, on) != []


async def test_fix_rebuilds_every_ability(root: ApiClient, gateway: Gateway) -> None:
    channel_id = await _one(root, name="fix", models="f1,f2", group="g1", priority=4, weight=2)
    expected = _abilities(gateway, channel_id)
    with _db(gateway) as db:
        db.execute("DELETE FROM abilities WHERE channel_id = ?", (channel_id,))
        db.execute(
            f"INSERT INTO abilities ({ABILITY_COLUMNS}) VALUES ('junk', 'junk', ?, 1, 0, 0, NULL)",
            (channel_id,),
        )
        junk = f"INSERT INTO abilities ({ABILITY_COLUMNS}) VALUES (?, 'm', ?, 1, 0, 0, NULL)"
        db.execute(junk, ("orphan", 999999))
    reply = await root.post("/api/channel/fix")
    assert reply.success and reply.data["fails"] == 0 and reply.data["success"] >= 1
    assert _abilities(gateway, channel_id) == expected
    assert _abilities(gateway, 999999) == []


async def test_model_lists(root: ApiClient, common: ApiClient) -> None:
    await _one(root, name="custom-models", models="my-own-model")
    defaults = await common.get("/api/models")
    assert defaults.success
    assert "gpt-4o" in defaults.data["1"] and "deepseek-chat" in defaults.data["43"]
    assert any(m.startswith("claude") for m in defaults.data["14"])
    listed = (await root.get("/api/channel/models")).data
    by_id = {m["id"]: m for m in listed}
    assert by_id["gpt-4o"]["owned_by"] == "OpenAI" and by_id["gpt-4o"]["object"] == "model"
    assert by_id["my-own-model"]["owned_by"] == "custom"
    assert "my-own-model" in (await root.get("/api/channel/models_enabled")).data


async def test_bad_input_is_a_clear_error(root: ApiClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": 999}, "type"),
        ({"type": 0}, "type"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 200}, "name"),
        ({"key": ""}, "key"),
        ({"key": 12345}, "key"),
        ({"models": " , "}, "models"),
        ({"group": ""}, "group"),
        ({"group": ",".join(f"group{i}" for i in range(12))}, "group"),
        ({"weight": -1}, "weight"),
        ({"priority": "high"}, "priority"),
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"base_url": "example.com"}, "base_url"),
        ({"model_mapping": "not json"}, "model_mapping"),
        ({"model_mapping": "[1, 2]"}, "model_mapping"),
        ({"model_mapping": '{"a": 1}'}, "model_mapping"),
        ({"status_code_mapping": '{"400": "abc"}'}, "status_code_mapping"),
        ({"status_code_mapping": '{"oops": "500"}'}, "status_code_mapping"),
        ({"param_override": "[]"}, "param_override"),
        ({"header_override": "x"}, "header_override"),
        ({"setting": "1"}, "setting"),
        ({"settings": '"text"'}, "settings"),
        ({"type": 3, "base_url": ""}, "base_url"),
        ({"type": 41, "other": ""}, "other"),
        ({"models": "m" * 256}, "model"),
        ({"status": 7}, "status"),
        ({"auto_ban": 5}, "auto_ban"),
    ]
    for fields, word in cases:
        reply = await root.post(
            "/api/channel/", {"mode": "single", "channel": _channel_body(**fields)}
        )
        assert reply.status == 200 and not reply.success, fields
        assert word in reply.message, (fields, reply.message)
    weird = await root.post("/api/channel/", {"mode": "weird", "channel": _channel_body()})
    assert not weird.success and "mode" in weird.message
    not_object = await root.post("/api/channel/", {"mode": "single", "channel": "x"})
    assert not not_object.success and "channel" in not_object.message
    raw = await root.request(
        "POST", "/api/channel/", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 200 and not raw.body["success"] and "JSON" in raw.body["message"]
    missing = await root.put("/api/channel/", {"id": 987654, "name": "x"})
    assert not missing.success and "not found" in missing.message
    no_id = await root.put("/api/channel/", {"name": "x"})
    assert not no_id.success and "id" in no_id.message
    channel_id = await _one(root, name="bad-edit")
    for fields, word in (({"models": ""}, "models"), ({"type": 3}, "base_url")):
        reply = await root.put("/api/channel/", {"id": channel_id, **fields})
        assert not reply.success and word in reply.message, (fields, reply.message)
    assert (await root.get(f"/api/channel/{channel_id}")).data["models"] == "gpt-4o"
    for path in ("/api/channel/batch", "/api/channel/status/batch", "/api/channel/batch/tag"):
        reply = await root.post(path, {"ids": [], "status": 1})
        assert not reply.success and "ids" in reply.message


async def test_upstream_keys_are_absent_from_the_server_log(
    root: ApiClient, gateway: Gateway
) -> None:
    # Runs last in the module: every key above went through create, edit and reveal.
    await _one(root, name="log-check", key=SECRET + "log-check")
    log = gateway.log_text()
    assert log  # the server did write a log
    assert SECRET not in log


async def _postgres_rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _mysql_rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import asyncmy

    found = re.search(r"\)/([^?]+)", dsn)
    assert found, dsn
    conn = await asyncmy.connect(
        host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", db=found.group(1)
    )
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql.replace('"', "`"))
            return [tuple(row) for row in await cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
async def test_abilities_on_server_databases(engine: str, start_gateway: StartGateway) -> None:
    """The reserved ``group``/``model`` columns and the booleans work on PostgreSQL and MySQL."""
    database = postgres_database if engine == "postgres" else mysql_database
    read = _postgres_rows if engine == "postgres" else _mysql_rows
    async with database() as dsn:
        server = await start_gateway(SQL_DSN=dsn)
        client = await setup_root(server.url)
        try:
            channel_id = await _one(
                client, name="pg", models="m1,m2", group="default,vip", priority=2, weight=4
            )
            edit = {"id": channel_id, "models": "m2,m3", "group": "vip", "tag": "t"}
            assert (await client.put("/api/channel/", edit)).success
            assert (await client.post(f"/api/channel/{channel_id}/status", {"status": 2})).data
            assert (await client.post("/api/channel/fix")).success
            sql = f"SELECT {ABILITY_COLUMNS} FROM abilities WHERE channel_id = {channel_id}"
            rows = sorted(
                (g, m, c, int(e), p, w, t) for g, m, c, e, p, w, t in await read(dsn, sql)
            )
            assert rows == [
                ("vip", "m2", channel_id, 0, 2, 4, "t"),
                ("vip", "m3", channel_id, 0, 2, 4, "t"),
            ]
            assert (await client.delete(f"/api/channel/{channel_id}")).success
            assert await read(dsn, sql) == []
            assert SECRET not in server.log_text()
        finally:
            await client.close()


async def test_cache_picks_up_other_nodes_writes_on_sync(start_gateway: StartGateway) -> None:
    """A channel written by another node (straight into the table) is routed after one sync."""
    server = await start_gateway(SYNC_FREQUENCY="1")
    client = await setup_root(server.url)
    try:
        with _db(server) as db:
            db.execute(
                'INSERT INTO channels (type, "key", status, name, models, "group", priority)'
                " VALUES (1, ?, 1, 'other-node', 'other-node-model', 'default', 0)",
                (SECRET + "other-node",),
            )
        for _ in range(50):
            enabled = (await client.get("/api/channel/models_enabled")).data
            if "other-node-model" in enabled:
                break
            await asyncio.sleep(0.1)
        assert "other-node-model" in enabled
    finally:
        await client.close()


async def test_channel_and_option_writes_are_audited(gateway: Gateway, root: ApiClient) -> None:
    created = await root.post(
        "/api/channel/",
        {
            "mode": "single",
            "channel": {
                "type": 1,
                "name": "audited",
                "key": "sk-audit-secret",
                "models": "gpt-4o",
                "group": "default",
            },
        },
    )
    assert created.success, created.body
    channel_id = created.data[0]
    assert (await root.put("/api/channel/", {"id": channel_id, "key": "sk-new-secret"})).success
    assert (await root.post(f"/api/channel/{channel_id}/key")).success
    assert (await root.post(f"/api/channel/{channel_id}/status", {"status": 2})).success
    assert (await root.put("/api/option/", {"key": "SMTPToken", "value": "smtp-secret"})).success
    assert (await root.delete(f"/api/channel/{channel_id}")).success
    with sqlite3.connect(gateway.workdir / "one-api.db") as db:
        rows = db.execute("SELECT content, other FROM logs WHERE type = 3").fetchall()
    text = " ".join(f"{content} {other}" for content, other in rows)
    for action in (
        "channel.create",
        "channel.update",
        "channel.key",
        "channel.status",
        "channel.delete",
        "option.update",
    ):
        assert action in text, action
    for secret in ("sk-audit-secret", "sk-new-secret", "smtp-secret"):
        assert secret not in text
