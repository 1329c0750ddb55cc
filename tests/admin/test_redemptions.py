"""Redemption codes over real HTTP: create, list, search, edit, delete, and redeeming them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from newapi.cache import RedisCache
from newapi.cache.entities import EntityCache
from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root
from tests.support.services import redis_database

PASSWORD = "user-password-1"


def _db(gateway: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)


async def _codes(root: ApiClient, name: str = "gift", **fields: Any) -> list[str]:
    reply = await root.post("/api/redemption/", {"name": name, "quota": 1000, **fields})
    assert reply.success, reply.body
    return reply.data


async def _by_key(root: ApiClient, key: str) -> dict[str, Any]:
    reply = await root.get("/api/redemption/search", params={"keyword": key})
    assert reply.success and len(reply.data["items"]) == 1, reply.body
    return reply.data["items"][0]


@pytest.fixture(scope="module")
async def member(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    """A common user, logged in."""
    created = await root.post("/api/user/", {"username": "member", "password": PASSWORD})
    assert created.success, created.body
    client = ApiClient(gateway.url)
    assert (await client.login("member", PASSWORD)).success
    yield client
    await client.close()


async def _quota(client: ApiClient) -> int:
    return (await client.get("/api/user/self")).data["quota"]


async def test_create_returns_keys_and_lists_them(root: ApiClient) -> None:
    keys = await _codes(root, name="batch", count=3, quota=500)
    assert len(keys) == 3 and len(set(keys)) == 3
    assert all(len(k) == 32 and int(k, 16) >= 0 and k == k.lower() for k in keys)
    listed = await root.get("/api/redemption/", params={"p": 1, "page_size": 2})
    assert listed.success and set(listed.data) == {"page", "page_size", "total", "items"}
    assert listed.data["total"] >= 3 and len(listed.data["items"]) == 2
    second = await root.get("/api/redemption/", params={"p": 2, "page_size": 2})
    ids = [r["id"] for r in listed.data["items"] + second.data["items"]]
    assert ids == sorted(ids, reverse=True)
    row = await _by_key(root, keys[0])
    me = (await root.get("/api/user/self")).data["id"]
    assert row["name"] == "batch" and row["quota"] == 500 and row["status"] == 1
    assert row["user_id"] == me and row["used_user_id"] == 0 and row["redeemed_time"] == 0
    assert row["expired_time"] == 0 and row["count"] == 0 and row["DeletedAt"] is None
    assert abs(row["created_time"] - time.time()) < 60
    one = await root.get(f"/api/redemption/{row['id']}")
    assert one.success and one.data == row
    assert len(await _codes(root, name="二十个字符的名字二十个字符的名字二十个字")) == 1


async def test_create_rejects_bad_input(root: ApiClient) -> None:
    cases = [
        ({"quota": 10}, "name"),
        ({"name": "", "quota": 10}, "name"),
        ({"name": "n" * 21, "quota": 10}, "name"),
        ({"name": 5, "quota": 10}, "name"),
        ({"name": "ok"}, "quota"),
        ({"name": "ok", "quota": 0}, "quota"),
        ({"name": "ok", "quota": -10}, "quota"),
        ({"name": "ok", "quota": "lots"}, "quota"),
        ({"name": "ok", "quota": 10, "count": 0}, "count"),
        ({"name": "ok", "quota": 10, "count": 101}, "count"),
        ({"name": "ok", "quota": 10, "count": "3x"}, "count"),
        ({"name": "ok", "quota": 10, "expired_time": int(time.time()) - 5}, "expired_time"),
        ({"name": "ok", "quota": 10, "expired_time": "soon"}, "expired_time"),
    ]
    for body, word in cases:
        reply = await root.post("/api/redemption/", body)
        assert reply.status == 200 and not reply.success, body
        assert word in reply.message, (body, reply.message)
    raw = await root.request(
        "POST", "/api/redemption/", data=b"{bad", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 200 and not raw.body["success"] and "JSON" in raw.body["message"]
    assert not (await root.post("/api/redemption/", ["ok"])).success
    assert (await root.post("/api/redemption/", {"name": "ok", "quota": 1, "count": 100})).success


async def test_routes_need_an_admin(anon: ApiClient, member: ApiClient) -> None:
    assert (await anon.get("/api/redemption/")).status == 401
    for method, path in (
        ("GET", "/api/redemption/"),
        ("GET", "/api/redemption/search"),
        ("POST", "/api/redemption/"),
        ("DELETE", "/api/redemption/invalid"),
    ):
        reply = await member.request(method, path, json={"name": "x", "quota": 1})
        assert reply.status == 200 and not reply.success, path


async def test_search_by_name_id_key_and_status(gateway: Gateway, root: ApiClient) -> None:
    (key,) = await _codes(root, name="findable")
    row = await _by_key(root, key)
    by_name = await root.get("/api/redemption/search", params={"keyword": "finda"})
    assert [r["id"] for r in by_name.data["items"]] == [row["id"]]
    by_id = await root.get("/api/redemption/search", params={"keyword": str(row["id"])})
    assert row["id"] in [r["id"] for r in by_id.data["items"]]
    (old,) = await _codes(root, name="findable-old")
    with _db(gateway) as db:
        db.execute("UPDATE redemptions SET expired_time = 1000 WHERE key = ?", (old,))
    expired = await root.get(
        "/api/redemption/search", params={"keyword": "findable", "status": "expired"}
    )
    assert [r["key"] for r in expired.data["items"]] == [old]
    enabled = await root.get("/api/redemption/search", params={"keyword": "findable", "status": 1})
    assert [r["key"] for r in enabled.data["items"]] == [key]
    bad = await root.get("/api/redemption/search", params={"status": "weird"})
    assert not bad.success and "status" in bad.message
    huge = "9" * 25  # past 64 bits: must be "not found", never a driver error
    found = await root.get("/api/redemption/search", params={"keyword": huge})
    assert found.success and found.data["items"] == []
    for method in ("GET", "DELETE"):
        reply = await root.request(method, f"/api/redemption/{huge}")
        # A path id beyond BIGINT is refused by name (as new-api's Atoi), never a driver error.
        assert reply.status == 200 and reply.body["success"] is False, reply.body
        assert reply.message.startswith("id must be between 1 and"), reply.body


async def test_update_fields_and_status(root: ApiClient, member: ApiClient) -> None:
    (key,) = await _codes(root, name="editable")
    row = await _by_key(root, key)
    future = int(time.time()) + 3600
    reply = await root.put(
        "/api/redemption/",
        {"id": row["id"], "name": "edited", "quota": 77, "expired_time": future},
    )
    assert reply.success and reply.data["name"] == "edited" and reply.data["quota"] == 77
    assert reply.data["expired_time"] == future and reply.data["key"] == key
    off = await root.put(
        "/api/redemption/?status_only=1", {"id": row["id"], "status": 2, "name": "ignored"}
    )
    assert off.success and off.data["status"] == 2 and off.data["name"] == "edited"
    refused = await member.post("/api/user/topup", {"key": key})
    assert not refused.success and "disabled" in refused.message
    on = await root.put("/api/redemption/?status_only=1", {"id": row["id"], "status": 1})
    assert on.success and on.data["status"] == 1
    same = await root.put("/api/redemption/?status_only=1", {"id": row["id"], "status": 1})
    assert same.success and same.data["status"] == 1
    assert (await member.post("/api/user/topup", {"key": key})).data == 77
    used = await root.put("/api/redemption/?status_only=1", {"id": row["id"], "status": 1})
    assert not used.success and "used" in used.message
    assert (await root.get(f"/api/redemption/{row['id']}")).data["status"] == 3
    cases = [
        ({"id": row["id"], "name": ""}, "name"),
        ({"id": row["id"], "quota": 0}, "quota"),
        ({"id": row["id"], "expired_time": 5}, "expired_time"),
        ({"id": row["id"], "status": 3}, "status"),
        ({"name": "x"}, "id"),
        ({"id": "abc"}, "id"),
        ({"id": 987654, "name": "x"}, "not found"),
    ]
    for body, word in cases:
        bad = await root.put("/api/redemption/", body)
        assert bad.status == 200 and not bad.success, body
        assert word in bad.message, (body, bad.message)
    missing = await root.put("/api/redemption/?status_only=1", {"id": row["id"]})
    assert not missing.success and "status" in missing.message


async def test_redeem_credits_once_and_logs(
    gateway: Gateway, root: ApiClient, member: ApiClient
) -> None:
    (key,) = await _codes(root, name="redeem", quota=4321)
    before = await _quota(member)
    reply = await member.post("/api/user/topup", {"key": f"  {key} "})
    assert reply.success and reply.data == 4321
    assert await _quota(member) == before + 4321
    me = (await member.get("/api/user/self")).data
    row = await _by_key(root, key)
    assert row["status"] == 3 and row["used_user_id"] == me["id"]
    assert abs(row["redeemed_time"] - time.time()) < 60
    again = await member.post("/api/user/topup", {"key": key})
    assert not again.success and "already been used" in again.message
    assert await _quota(member) == before + 4321
    with _db(gateway) as db:
        logs = db.execute(
            "SELECT user_id, username, quota, content, other FROM logs WHERE type = 1"
        ).fetchall()
    mine = [r for r in logs if f"code {row['id']}:" in r[3]]
    assert len(mine) == 1 and mine[0][:3] == (me["id"], "member", 4321)
    assert key not in str(logs)
    assert orjson.loads(mine[0][4])["admin_info"]["payment_method"] == "redemption"


async def test_redeem_refusals(gateway: Gateway, root: ApiClient, member: ApiClient) -> None:
    before = await _quota(member)
    (expired,) = await _codes(root, name="stale")
    with _db(gateway) as db:
        db.execute("UPDATE redemptions SET expired_time = 1000 WHERE key = ?", (expired,))
    (deleted,) = await _codes(root, name="gone")
    assert (await root.delete(f"/api/redemption/{(await _by_key(root, deleted))['id']}")).success
    cases = [
        ({"key": expired}, "expired"),
        ({"key": deleted}, "invalid"),
        ({"key": "0" * 32}, "invalid"),
        ({"key": "x" * 500}, "invalid"),
        ({"key": ""}, "enter a redemption code"),
        ({}, "enter a redemption code"),
        ({"key": 123}, "key must be a string"),
    ]
    for body, word in cases:
        reply = await member.post("/api/user/topup", body)
        assert reply.status == 200 and not reply.success, body
        assert word in reply.message, (body, reply.message)
    assert not (await member.post("/api/user/topup", ["k"])).success
    assert await _quota(member) == before


async def test_redeem_needs_login(anon: ApiClient, root: ApiClient) -> None:
    (key,) = await _codes(root, name="anon")
    reply = await anon.post("/api/user/topup", {"key": key})
    assert reply.status == 401 and not reply.body["success"]
    assert (await _by_key(root, key))["status"] == 1


async def test_delete_is_soft(gateway: Gateway, root: ApiClient) -> None:
    (key,) = await _codes(root, name="softdel")
    row = await _by_key(root, key)
    assert (await root.delete(f"/api/redemption/{row['id']}")).success
    assert not (await root.get(f"/api/redemption/{row['id']}")).success
    again = await root.delete(f"/api/redemption/{row['id']}")
    assert not again.success and "not found" in again.message
    with _db(gateway) as db:
        (deleted_at,) = db.execute(
            "SELECT deleted_at FROM redemptions WHERE id = ?", (row["id"],)
        ).fetchone()
    assert deleted_at is not None
    listed = await root.get("/api/redemption/", params={"page_size": 100})
    assert row["id"] not in [r["id"] for r in listed.data["items"]]


async def test_delete_invalid_removes_used_disabled_and_expired(
    gateway: Gateway, root: ApiClient, member: ApiClient
) -> None:
    used, disabled, expired, fresh, later = await _codes(root, name="sweep", count=5)
    assert (await member.post("/api/user/topup", {"key": used})).success
    disabled_id = (await _by_key(root, disabled))["id"]
    await root.put("/api/redemption/?status_only=1", {"id": disabled_id, "status": 2})
    with _db(gateway) as db:
        db.execute("UPDATE redemptions SET expired_time = 1000 WHERE key = ?", (expired,))
        db.execute(
            "UPDATE redemptions SET expired_time = ? WHERE key = ?", (int(time.time()) + 999, later)
        )
        (expected,) = db.execute(
            "SELECT count(*) FROM redemptions WHERE deleted_at IS NULL AND (status IN (2, 3)"
            " OR (status = 1 AND expired_time != 0 AND expired_time < ?))",
            (int(time.time()),),
        ).fetchone()
    assert expected >= 3
    reply = await root.delete("/api/redemption/invalid")
    assert reply.success and reply.data == expected
    keys = {
        r["key"] for r in (await root.get("/api/redemption/", params={"ps": 100})).data["items"]
    }
    assert {fresh, later} <= keys and not {used, disabled, expired} & keys
    assert (await root.delete("/api/redemption/invalid")).data == 0


async def test_redemption_writes_are_audited(gateway: Gateway, root: ApiClient) -> None:
    (key,) = await _codes(root, name="audit-me", quota=9)
    row = await _by_key(root, key)
    await root.put("/api/redemption/", {"id": row["id"], "quota": 10})
    await root.delete(f"/api/redemption/{row['id']}")
    with _db(gateway) as db:
        rows = db.execute("SELECT content, other FROM logs WHERE type = 3 ORDER BY id").fetchall()
    actions = [orjson.loads(other)["op"]["action"] for _, other in rows]
    assert actions[-3:] == ["redemption.create", "redemption.update", "redemption.delete"]
    assert "audit-me" in rows[-3][0]
    assert key not in str(rows)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_database() as url:
        yield url


async def test_redeem_drops_the_cached_user(start_gateway: StartGateway, redis_url: str) -> None:
    gateway = await start_gateway(REDIS_CONN_STRING=redis_url)
    root = await setup_root(gateway.url)
    cache = RedisCache(redis_url)
    entities = EntityCache(cache, crypto_secret="unused", ttl=60)
    try:
        (key,) = await _codes(root, name="cached", quota=5)
        assert root.user_id is not None
        await entities.put_user(root.user_id, {"id": root.user_id, "quota": 1})
        assert (await root.post("/api/user/topup", {"key": key})).data == 5
        assert await entities.get_user(root.user_id) is None
    finally:
        await root.close()
        await cache.close()
