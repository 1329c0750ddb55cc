"""Admin user management over real HTTP: list, search, create, edit, manage, soft delete."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from newapi.cache import RedisCache
from newapi.cache.entities import EntityCache
from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, Reply, setup_root

PASSWORD = "user-password-1"


def _db(gateway: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)


async def _find(root: ApiClient, username: str) -> dict[str, Any]:
    reply = await root.get("/api/user/search", params={"keyword": username, "page_size": 100})
    assert reply.success, reply.body
    return next(u for u in reply.data["items"] if u["username"] == username)


async def _create(root: ApiClient, username: str, **fields: Any) -> dict[str, Any]:
    reply = await root.post("/api/user/", {"username": username, "password": PASSWORD, **fields})
    assert reply.success, reply.body
    return await _find(root, username)


async def _login(gateway: Gateway, username: str, password: str = PASSWORD) -> ApiClient:
    client = ApiClient(gateway.url)
    reply = await client.login(username, password)
    assert reply.success, reply.body
    return client


async def _manage(client: ApiClient, user_id: int, action: str, **extra: Any) -> Any:
    return await client.post("/api/user/manage", {"id": user_id, "action": action, **extra})


@pytest.fixture(scope="module")
async def admin(gateway: Gateway, root: ApiClient) -> Any:
    """A second-level admin (role 10), logged in."""
    await _create(root, "admin1", role=10)
    client = await _login(gateway, "admin1")
    yield client
    await client.close()


async def test_list_is_paged_newest_first_with_blank_passwords(
    gateway: Gateway, root: ApiClient
) -> None:
    for index in range(3):
        await _create(root, f"lister{index}")
    first = await root.get("/api/user/", params={"p": 1, "page_size": 2})
    second = await root.get("/api/user/", params={"p": 2, "page_size": 2})
    assert first.success and set(first.data) == {"page", "page_size", "total", "items"}
    assert (first.data["page"], first.data["page_size"]) == (1, 2)
    assert first.data["total"] >= 4 and len(first.data["items"]) == 2
    ids = [u["id"] for u in first.data["items"] + second.data["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    everyone = await root.get("/api/user/", params={"page_size": 100})
    assert all(u["password"] == "" for u in everyone.data["items"])
    assert all("access_token" not in u for u in everyone.data["items"])
    with _db(gateway) as db:
        hashes = [row[0] for row in db.execute("SELECT password FROM users")]
    assert all(h and h not in str(everyone.body) for h in hashes)
    clamped = await root.get("/api/user/", params={"p": -3, "page_size": 1000})
    assert clamped.data["page"] == 1 and clamped.data["page_size"] == 100
    bad = await root.get("/api/user/", params={"p": "two"})
    assert bad.status == 200 and not bad.success and "integer" in bad.message


async def test_search_filters(gateway: Gateway, root: ApiClient) -> None:
    alpha = await _create(root, "searchalpha", display_name="Shown Name")
    beta = await _create(root, "searchbeta")
    with _db(gateway) as db:
        db.execute("UPDATE users SET email = 'beta@example.com' WHERE id = ?", (beta["id"],))
    by_display = await root.get("/api/user/search", params={"keyword": "shown"})
    assert [u["id"] for u in by_display.data["items"]] == [alpha["id"]]
    by_email = await root.get("/api/user/search", params={"keyword": "beta@example"})
    assert [u["id"] for u in by_email.data["items"]] == [beta["id"]]
    by_id = await root.get("/api/user/search", params={"keyword": str(alpha["id"])})
    assert alpha["id"] in [u["id"] for u in by_id.data["items"]]
    assert (await root.put("/api/user/", {"id": beta["id"], "group": "vip"})).success
    vip = await root.get("/api/user/search", params={"keyword": "search", "group": "vip"})
    assert [u["id"] for u in vip.data["items"]] == [beta["id"]]
    roots = await root.get("/api/user/search", params={"role": 100})
    assert [u["username"] for u in roots.data["items"]] == ["root"]
    assert (await _manage(root, alpha["id"], "disable")).success
    disabled = await root.get("/api/user/search", params={"keyword": "search", "status": 2})
    assert [u["id"] for u in disabled.data["items"]] == [alpha["id"]]
    assert (await root.delete(f"/api/user/{beta['id']}")).success
    deleted = await root.get("/api/user/search", params={"keyword": "search", "status": -1})
    assert [u["id"] for u in deleted.data["items"]] == [beta["id"]]
    live = await root.get("/api/user/search", params={"keyword": "search", "status": 1})
    assert live.data["items"] == []
    bad = await root.get("/api/user/search", params={"role": "admin"})
    assert not bad.success and "role" in bad.message


async def test_get_one_and_unknown_ids(root: ApiClient) -> None:
    user = await _create(root, "getme")
    one = await root.get(f"/api/user/{user['id']}")
    assert one.success and one.data["username"] == "getme" and one.data["password"] == ""
    assert one.data["role"] == 1 and one.data["status"] == 1 and one.data["DeletedAt"] is None
    missing = await root.get("/api/user/987654")
    assert missing.status == 200 and not missing.success and "not found" in missing.message
    not_an_id = await root.get("/api/user/abc")
    assert not_an_id.status == 200 and not_an_id.message == "id must be an integer"
    huge = "9" * 25  # past 64 bits: must be "not found", never a driver error
    # A path id beyond BIGINT is refused by name (as new-api's Atoi); in a query it finds nothing.
    for reply in (await root.get(f"/api/user/{huge}"), await root.delete(f"/api/user/{huge}")):
        assert reply.status == 200 and reply.body["success"] is False, reply.body
        assert reply.message.startswith("id must be between 1 and"), reply.body
    searched = await root.get("/api/user/search", params={"keyword": huge})
    assert searched.status == 200 and searched.success, searched.body
    assert (await root.get("/api/user/search", params={"keyword": huge})).data["items"] == []


async def test_create_validates_and_enforces_roles(
    gateway: Gateway, root: ApiClient, admin: ApiClient
) -> None:
    assert (await admin.post("/api/user/", {"username": "made", "password": PASSWORD})).success
    made = await _find(root, "made")
    assert made["role"] == 1 and made["display_name"] == "made" and len(made["aff_code"]) == 4
    peer = await admin.post("/api/user/", {"username": "peer", "password": PASSWORD, "role": 10})
    assert not peer.success and "lower role" in peer.message
    cases = [
        ({"username": "made", "password": PASSWORD}, "taken"),
        ({"username": "x" * 21, "password": PASSWORD}, "username"),
        ({"username": "  ", "password": PASSWORD}, "username"),
        ({"username": "shortpw", "password": "1234567"}, "password"),
        ({"username": "typed", "password": 12345678}, "password"),
        ({"username": "rooty", "password": PASSWORD, "role": 100}, "role"),
        ({"username": "roly", "password": PASSWORD, "role": "admin"}, "role"),
        ({"username": "longname", "password": PASSWORD, "display_name": "d" * 21}, "display"),
    ]
    for body, word in cases:
        reply = await root.post("/api/user/", body)
        assert reply.status == 200 and not reply.success, body
        assert word in reply.message, (body, reply.message)
    raw = await root.request(
        "POST", "/api/user/", data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 200 and not raw.body["success"] and "JSON" in raw.body["message"]
    assert not (await root.post("/api/user/", ["made"])).success
    common = await _login(gateway, "made")
    try:
        denied = await common.post("/api/user/", {"username": "nope", "password": PASSWORD})
        assert denied.status == 200 and not denied.success
        assert not (await common.get("/api/user/")).success
    finally:
        await common.close()


async def test_update_profile_password_and_quota(gateway: Gateway, root: ApiClient) -> None:
    user = await _create(root, "editme")
    reply = await root.put(
        "/api/user/",
        {
            "id": user["id"],
            "username": "edited",
            "display_name": "Edited",
            "group": "vip",
            "remark": "a note",
            "password": "new-password-9",
            "quota": 1234,
            "role": 1,
        },
    )
    assert reply.success, reply.body
    got = (await root.get(f"/api/user/{user['id']}")).data
    assert (got["username"], got["display_name"], got["group"], got["remark"]) == (
        "edited",
        "Edited",
        "vip",
        "a note",
    )
    assert got["quota"] == 1234
    client = await _login(gateway, "edited", "new-password-9")
    await client.close()
    # An omitted or empty password leaves it alone.
    assert (await root.put("/api/user/", {"id": user["id"], "password": ""})).success
    with _db(gateway) as db:
        (hashed,) = db.execute("SELECT password FROM users WHERE id = ?", (user["id"],)).fetchone()
    assert hashed.startswith("$2") and "new-password-9" not in hashed
    cases = [
        ({"id": user["id"], "role": 10}, "promote"),
        ({"id": user["id"], "group": "no-such-group"}, "group"),
        ({"id": user["id"], "display_name": "n" * 21}, "display_name"),
        ({"id": user["id"], "remark": "r" * 256}, "remark"),
        ({"id": user["id"], "username": "root"}, "taken"),
        ({"id": user["id"], "quota": -1}, "quota"),
        ({"id": user["id"], "quota": "many"}, "quota"),
        ({"id": user["id"], "password": "short"}, "password"),
        ({"id": "seven"}, "id"),
        ({"username": "nobody"}, "id"),
        ({"id": 987654, "username": "ghost"}, "not found"),
    ]
    for body, word in cases:
        bad = await root.put("/api/user/", body)
        assert bad.status == 200 and not bad.success, body
        assert word in bad.message, (body, bad.message)
    assert (await root.get(f"/api/user/{user['id']}")).data["quota"] == 1234


async def test_role_rules(root: ApiClient, admin: ApiClient) -> None:
    me = (await root.get("/api/user/self")).data
    other_admin = await _create(root, "admin2", role=10)
    common = await _create(root, "plainuser")
    admin_id = (await admin.get("/api/user/self")).data["id"]
    # An admin cannot touch an equal or higher role, nor promote anyone.
    for target in (other_admin["id"], me["id"], admin_id):
        for action in ("disable", "delete", "demote"):
            reply = await _manage(admin, target, action)
            assert not reply.success and "lower role" in reply.message, (target, action)
    assert not (await admin.get(f"/api/user/{other_admin['id']}")).success
    assert not (await admin.put("/api/user/", {"id": me["id"], "remark": "x"})).success
    assert not (await admin.delete(f"/api/user/{other_admin['id']}")).success
    promote = await _manage(admin, common["id"], "promote")
    assert not promote.success and "root" in promote.message
    # Root promotes and demotes; the root user itself is protected.
    promoted = await _manage(root, common["id"], "promote")
    assert promoted.success and promoted.data == {"role": 10, "status": 1}
    again = await _manage(root, common["id"], "promote")
    assert not again.success and "already" in again.message
    assert (await _manage(root, common["id"], "demote")).data == {"role": 1, "status": 1}
    again = await _manage(root, common["id"], "demote")
    assert not again.success and "already" in again.message
    for action in ("disable", "delete", "demote"):
        reply = await _manage(root, me["id"], action)
        assert not reply.success and "root" in reply.message, action
    assert not (await root.delete(f"/api/user/{me['id']}")).success
    assert (await root.get("/api/user/self")).data["role"] == 100
    # Root may edit admins and itself.
    assert (await root.put("/api/user/", {"id": other_admin["id"], "remark": "ok"})).success
    assert (await _manage(root, me["id"], "add_quota", mode="add", value=1)).success


async def test_manage_bad_input(root: ApiClient) -> None:
    user = await _create(root, "badinput")
    cases = [
        ({"id": user["id"], "action": "explode"}, "action"),
        ({"id": user["id"]}, "action"),
        ({"action": "disable"}, "id"),
        ({"id": "x", "action": "disable"}, "id"),
        ({"id": 987654, "action": "disable"}, "not found"),
        ({"id": user["id"], "action": "add_quota", "mode": "times", "value": 2}, "mode"),
        ({"id": user["id"], "action": "add_quota", "mode": "add"}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "add", "value": 0}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "add", "value": "1e3"}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "add", "value": -5}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "add", "value": 1.5}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "override", "value": -1}, "value"),
        ({"id": user["id"], "action": "add_quota", "mode": "add", "value": 2**60}, "value"),
    ]
    for body, word in cases:
        reply = await root.post("/api/user/manage", body)
        assert reply.status == 200 and not reply.success, body
        assert word in reply.message, (body, reply.message)
    assert (await root.get(f"/api/user/{user['id']}")).data["quota"] == 0


async def test_quota_modes(root: ApiClient) -> None:
    user = await _create(root, "quotas")

    async def quota() -> int:
        return (await root.get(f"/api/user/{user['id']}")).data["quota"]

    assert (await _manage(root, user["id"], "add_quota", mode="add", value=100)).success
    assert (await _manage(root, user["id"], "add_quota", mode="subtract", value=30)).success
    assert await quota() == 70
    # Subtracting more than the user holds is refused: quota never goes below 0 this way.
    refused = await _manage(root, user["id"], "add_quota", mode="subtract", value=71)
    assert not refused.success and "only 70" in refused.message
    assert await quota() == 70
    assert (await _manage(root, user["id"], "add_quota", mode="subtract", value=70)).success
    assert await quota() == 0
    assert (await _manage(root, user["id"], "add_quota", mode="override", value=5)).success
    assert await quota() == 5
    assert (await _manage(root, user["id"], "add_quota", mode="override", value=0)).success
    assert await quota() == 0


async def test_disable_blocks_login_and_enable_restores(gateway: Gateway, root: ApiClient) -> None:
    user = await _create(root, "switchy")
    session = await _login(gateway, "switchy")
    try:
        disabled = await _manage(root, user["id"], "disable")
        assert disabled.success and disabled.data == {"role": 1, "status": 2}
        assert not (await session.get("/api/user/self")).success
        fresh = ApiClient(gateway.url)
        assert not (await fresh.login("switchy", PASSWORD)).success
        await fresh.close()
        assert (await _manage(root, user["id"], "enable")).data == {"role": 1, "status": 1}
        # Disabling ended the sessions it had: enabling lets the user log in again, no more.
        assert (await session.get("/api/user/self")).status == 401
        again = await _login(gateway, "switchy")
        assert (await again.get("/api/user/self")).success
        await again.close()
    finally:
        await session.close()


async def test_soft_deleted_user_is_listed_but_cannot_log_in(
    gateway: Gateway, root: ApiClient
) -> None:
    user = await _create(root, "doomed")
    session = await _login(gateway, "doomed")
    try:
        assert (await root.delete(f"/api/user/{user['id']}")).success
        listed = await root.get("/api/user/", params={"page_size": 100})
        row = next(u for u in listed.data["items"] if u["id"] == user["id"])
        assert row["DeletedAt"] is not None and row["username"] == "doomed"
        assert (await session.get("/api/user/self")).status == 401
        retry = ApiClient(gateway.url)
        assert not (await retry.login("doomed", PASSWORD)).success
        await retry.close()
        assert not (await root.get(f"/api/user/{user['id']}")).success
        again = await root.delete(f"/api/user/{user['id']}")
        assert not again.success and "not found" in again.message
        assert not (await _manage(root, user["id"], "enable")).success
        # The name stays reserved: the column is unique and the row still exists.
        reuse = await root.post("/api/user/", {"username": "doomed", "password": PASSWORD})
        assert not reuse.success and "taken" in reuse.message
    finally:
        await session.close()
    via_manage = await _create(root, "doomed2")
    assert (await _manage(root, via_manage["id"], "delete")).success
    deleted = await root.get("/api/user/search", params={"keyword": "doomed2", "status": -1})
    assert [u["id"] for u in deleted.data["items"]] == [via_manage["id"]]


async def test_admin_writes_are_audited_without_secrets(gateway: Gateway, root: ApiClient) -> None:
    me = (await root.get("/api/user/self")).data
    await root.post("/api/user/", {"username": "audited", "password": "secret-pass-77"})
    user = await _find(root, "audited")
    await root.put("/api/user/", {"id": user["id"], "password": "other-secret-88"})
    await _manage(root, user["id"], "add_quota", mode="add", value=42)
    await _manage(root, user["id"], "disable")
    await root.delete(f"/api/user/{user['id']}")
    with _db(gateway) as db:
        rows = db.execute(
            "SELECT user_id, username, content, other FROM logs WHERE type = 3 ORDER BY id"
        ).fetchall()
    mine = [
        r for r in rows if orjson.loads(r[3])["op"]["params"].get("target_user_id") == user["id"]
    ]
    actions = [orjson.loads(r[3])["op"]["action"] for r in mine]
    assert actions == [
        "user.create",
        "user.update",
        "user.add_quota",
        "user.disable",
        "user.delete",
    ]
    for user_id, username, content, other in mine:
        assert (user_id, username) == (me["id"], "root")
        info = orjson.loads(other)["admin_info"]
        assert info["admin_id"] == me["id"] and info["admin_role"] == 100
        assert "audited" in content
    quota_log = orjson.loads(mine[2][3])["op"]["params"]
    assert (quota_log["mode"], quota_log["value"]) == ("add", 42)
    assert "password" in orjson.loads(mine[1][3])["op"]["params"]["fields"]
    everything = str(rows)
    assert "secret-pass-77" not in everything and "other-secret-88" not in everything
    assert "$2" not in everything


async def test_writes_drop_the_cached_user_and_its_tokens(
    start_gateway: StartGateway, redis_url: str
) -> None:
    gateway = await start_gateway(REDIS_CONN_STRING=redis_url, CRYPTO_SECRET="crypto-u")
    root = await setup_root(gateway.url)
    cache = RedisCache(redis_url)
    entities = EntityCache(cache, crypto_secret="crypto-u", ttl=60)
    member = await _login(gateway, (await _create(root, "cached"))["username"])
    try:
        user_id = member.user_id
        assert user_id is not None
        key = (await member.post("/api/token/", {"name": "k"})).data["key"]
        steps: list[tuple[Callable[[], Awaitable[Reply]], bool]] = [
            (lambda: root.put("/api/user/", {"id": user_id, "remark": "x"}), False),
            (lambda: _manage(root, user_id, "add_quota", mode="add", value=5), False),
            (lambda: _manage(root, user_id, "add_quota", mode="subtract", value=5), False),
            (lambda: _manage(root, user_id, "add_quota", mode="override", value=9), False),
            (lambda: _manage(root, user_id, "promote"), False),
            (lambda: _manage(root, user_id, "demote"), False),
            (lambda: _manage(root, user_id, "disable"), True),
            (lambda: _manage(root, user_id, "enable"), True),
            (lambda: root.delete(f"/api/user/{user_id}"), True),
        ]
        for call, drops_tokens in steps:
            # What the relay would have cached for this user and its key.
            await entities.put_user(user_id, {"id": user_id, "quota": 1})
            await entities.put_token(key, {"id": 1, "user_id": user_id})
            assert (await call()).success
            assert await entities.get_user(user_id) is None
            assert (await entities.get_token(key) is None) is drops_tokens
    finally:
        await member.close()
        await root.close()
        await cache.close()
