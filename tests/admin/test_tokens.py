"""API keys: create, list masked, reveal, edit, status rules, delete."""

from __future__ import annotations

import time

from tests.support.gateway import ApiClient


async def _create(root: ApiClient, **fields: object) -> dict:
    reply = await root.post("/api/token/", {"name": "key", **fields})
    assert reply.success, reply.body
    return reply.data


async def test_create_list_masks_and_reveal(root: ApiClient) -> None:
    created = await _create(root, name="masked", remain_quota=1000)
    key = created["key"]
    assert len(key) == 48 and key.isalnum()
    listed = await root.get("/api/token/", params={"p": 1, "page_size": 100})
    assert listed.success
    page = listed.data
    assert {"page", "page_size", "total", "items"} <= set(page)
    row = next(item for item in page["items"] if item["id"] == created["id"])
    assert row["key"] == key[:4] + "**********" + key[-4:]
    assert key not in str(listed.body)
    revealed = await root.post(f"/api/token/{created['id']}/key")
    assert revealed.data == {"key": key}
    one = await root.get(f"/api/token/{created['id']}")
    assert one.data["key"] != key and one.data["remain_quota"] == 1000


async def test_pagination_is_one_based(root: ApiClient) -> None:
    for index in range(3):
        await _create(root, name=f"page-{index}")
    first = await root.get("/api/token/", params={"p": 1, "page_size": 2})
    second = await root.get("/api/token/", params={"p": 2, "page_size": 2})
    zero = await root.get("/api/token/", params={"p": 0, "page_size": 2})
    assert first.data["page"] == 1 and len(first.data["items"]) == 2
    assert zero.data["items"] == first.data["items"]
    ids = [t["id"] for t in first.data["items"] + second.data["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


async def test_update_and_status_rules(root: ApiClient) -> None:
    token = await _create(root, name="edit-me", remain_quota=10)
    reply = await root.put(
        "/api/token/",
        {
            "id": token["id"],
            "name": "edited",
            "remain_quota": 99,
            "model_limits_enabled": True,
            "model_limits": "gpt-4o,gpt-4o-mini",
        },
    )
    assert reply.success, reply.body
    got = (await root.get(f"/api/token/{token['id']}")).data
    assert (got["name"], got["remain_quota"], got["model_limits"]) == (
        "edited",
        99,
        "gpt-4o,gpt-4o-mini",
    )
    off = await root.put(
        "/api/token/?status_only=1", {"id": token["id"], "status": 2, "name": "ignored"}
    )
    assert off.success
    got = (await root.get(f"/api/token/{token['id']}")).data
    assert got["status"] == 2 and got["name"] == "edited"
    # An expired token cannot be re-enabled until its expiry moves.
    await root.put("/api/token/", {"id": token["id"], "expired_time": int(time.time()) - 10})
    refused = await root.put("/api/token/?status_only=1", {"id": token["id"], "status": 1})
    assert not refused.success and "expired" in refused.message
    empty = await _create(root, name="empty", remain_quota=0)
    await root.put("/api/token/?status_only=1", {"id": empty["id"], "status": 2})
    refused = await root.put("/api/token/?status_only=1", {"id": empty["id"], "status": 1})
    assert not refused.success and "quota" in refused.message


async def test_bad_input_is_a_clear_error(root: ApiClient) -> None:
    cases = [
        ({"name": "x" * 51}, "name"),
        ({"name": "ok", "remain_quota": "lots"}, "remain_quota"),
        ({"name": "ok", "remain_quota": -1}, "remain_quota"),
        ({"name": "ok", "unlimited_quota": "yes"}, "unlimited_quota"),
        ({"name": "ok", "group": "no-such-group"}, "group"),
    ]
    for body, word in cases:
        reply = await root.post("/api/token/", body)
        assert reply.status == 200 and not reply.success, body
        assert word in reply.message
    raw = await root.request(
        "POST", "/api/token/", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 200 and not raw.body["success"] and "JSON" in raw.body["message"]
    listing = await root.post("/api/token/", [1, 2])
    assert not listing.success
    missing = await root.get("/api/token/987654")
    assert not missing.success and "not found" in missing.message
    missing = await root.put("/api/token/", {"id": 987654, "name": "x"})
    assert not missing.success


async def test_delete_is_soft_and_hides_token(root: ApiClient) -> None:
    token = await _create(root, name="doomed")
    assert (await root.delete(f"/api/token/{token['id']}")).success
    assert not (await root.get(f"/api/token/{token['id']}")).success
    batch = [await _create(root, name=f"b{i}") for i in range(2)]
    reply = await root.post("/api/token/batch", {"ids": [t["id"] for t in batch] + [987654]})
    assert reply.data == 2
    search = await root.get("/api/token/search", params={"keyword": "b"})
    assert all(t["id"] not in {b["id"] for b in batch} for t in search.data["items"])
