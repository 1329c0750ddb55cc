"""POST /api/channel/multi_key/manage: each key's status, enabling and disabling keys."""

from __future__ import annotations

from typing import Any

from tests.support.gateway import ApiClient

SECRET = "sk-upstream-secret-"


async def multi_key(root: ApiClient, count: int) -> int:
    keys = "\n".join(f"{SECRET}k{index}" for index in range(count))
    reply = await root.post(
        "/api/channel/",
        {
            "mode": "multi_to_single",
            "multi_key_mode": "polling",
            "channel": {
                "type": 1,
                "name": "pool",
                "key": keys,
                "models": "gpt-4o",
                "group": "default",
                "base_url": "http://127.0.0.1:9",
            },
        },
    )
    assert reply.success, reply.body
    return int(reply.data[0])


async def manage(root: ApiClient, channel_id: int, action: str, **extra: Any) -> Any:
    return await root.post(
        "/api/channel/multi_key/manage", {"channel_id": channel_id, "action": action, **extra}
    )


async def test_key_status_lists_every_key_masked(root: ApiClient) -> None:
    channel_id = await multi_key(root, 3)
    reply = await manage(root, channel_id, "get_key_status")
    assert reply.success, reply.body
    assert reply.data["mode"] == "polling"
    keys = reply.data["keys"]
    assert [k["index"] for k in keys] == [0, 1, 2] and {k["status"] for k in keys} == {1}
    assert SECRET not in str(reply.body) and keys[0]["preview"] == "sk-up…t-k0"


async def test_disable_and_enable_keys_and_the_channel_follows(root: ApiClient) -> None:
    channel_id = await multi_key(root, 2)
    off = await manage(root, channel_id, "disable_key", key_index=1)
    assert off.success, off.body
    keys = (await manage(root, channel_id, "get_key_status")).data["keys"]
    assert keys[1]["status"] == 2 and keys[1]["disabled_reason"] and keys[1]["disabled_time"] > 0
    assert (await root.get(f"/api/channel/{channel_id}")).data["status"] == 1
    # the last enabled key goes: the channel leaves routing (auto-disabled)
    assert (await manage(root, channel_id, "disable_key", key_index=0)).success
    assert (await root.get(f"/api/channel/{channel_id}")).data["status"] == 3
    # one key back: the channel is back
    assert (await manage(root, channel_id, "enable_key", key_index=0)).success
    channel = (await root.get(f"/api/channel/{channel_id}")).data
    assert channel["status"] == 1
    assert channel["channel_info"]["multi_key_status_list"] == {"1": 2}
    assert (await manage(root, channel_id, "enable_all_keys")).success
    keys = (await manage(root, channel_id, "get_key_status")).data["keys"]
    assert [k["status"] for k in keys] == [1, 1] and keys[1]["disabled_reason"] == ""


async def test_a_hand_disabled_channel_stays_disabled(root: ApiClient) -> None:
    channel_id = await multi_key(root, 2)
    assert (await root.post(f"/api/channel/{channel_id}/status", {"status": 2})).success
    assert (await manage(root, channel_id, "disable_key", key_index=0)).success
    assert (await manage(root, channel_id, "enable_key", key_index=0)).success
    assert (await root.get(f"/api/channel/{channel_id}")).data["status"] == 2


async def test_refusals(root: ApiClient) -> None:
    channel_id = await multi_key(root, 2)
    bad_action = await manage(root, channel_id, "explode")
    assert not bad_action.success and "action must be one of" in bad_action.message
    out_of_range = await manage(root, channel_id, "enable_key", key_index=5)
    assert not out_of_range.success and "out of range" in out_of_range.message
    missing = await manage(root, 999999, "get_key_status")
    assert not missing.success and "not found" in missing.message
    single = await root.post(
        "/api/channel/",
        {"mode": "single", "channel": {"type": 1, "name": "one", "key": "sk-1", "models": "m"}},
    )
    assert single.success, single.body
    one = await manage(root, int(single.data[0]), "get_key_status")
    assert not one.success and "single key" in one.message
