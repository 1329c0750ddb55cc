"""Multi-key channels: polling order, per-key auto-disable, the key logged for admins."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from bench.fakes import FakeError, Scenario
from tests.relay.conftest import Relay, log_other, poll

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def multi_key_channel(relay: Relay, keys: list[str], mode: str) -> int:
    reply = await relay.root.post(
        "/api/channel/",
        {
            "mode": "multi_to_single",
            "multi_key_mode": mode,
            "channel": {
                "type": 1,
                "name": "pool",
                "key": "\n".join(keys),
                "models": "gpt-4o-mini",
                "group": "default",
                "base_url": relay.fake.url,
            },
        },
    )
    assert reply.success, reply.body
    listed = await relay.root.get("/api/channel/", params={"keyword": "pool"})
    return int(listed.data["items"][0]["id"])


async def channel_row(relay: Relay, channel_id: int) -> dict[str, Any]:
    reply = await relay.root.get(f"/api/channel/{channel_id}")
    assert reply.success, reply.body
    return dict(reply.data)


async def test_polling_takes_the_keys_in_turn(relay: Relay) -> None:
    keys = ["sk-pool-a", "sk-pool-b", "sk-pool-c"]
    await multi_key_channel(relay, keys, "polling")
    client = relay.openai(await relay.key())
    for _ in range(7):
        await client.chat.completions.create(**CHAT)
    used = [r.api_key for r in relay.fake.requests]
    assert used == [keys[i % 3] for i in range(7)]
    logs = sorted(await relay.logs(7), key=lambda row: row["id"])
    indexes = [log_other(row)["admin_info"]["multi_key_index"] for row in logs]
    assert indexes == [i % 3 for i in range(7)]
    assert all(log_other(row)["admin_info"]["is_multi_key"] is True for row in logs)


async def test_a_failing_key_is_disabled_alone_then_the_channel(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    keys = ["sk-pool-good", "sk-pool-fail-401", "sk-pool2-fail-401"]
    channel_id = await multi_key_channel(relay, keys, "polling")
    client = relay.openai(await relay.key())
    await client.chat.completions.create(**CHAT)
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(**CHAT)  # the second key's turn

    async def statuses() -> dict[str, int]:
        info = (await channel_row(relay, channel_id))["channel_info"]
        return dict(info.get("multi_key_status_list") or {})

    assert await poll(statuses, lambda s: s.get("1") == 3) == {"1": 3}
    await asyncio.sleep(0.5)  # the routing cache refresh follows the write
    row = await channel_row(relay, channel_id)
    assert row["status"] == 1  # the channel still serves with its other keys
    await client.chat.completions.create(**CHAT)  # turn 3 of 2 enabled keys: the good one
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(**CHAT)  # turn 4: the third key
    assert await poll(statuses, lambda s: s.get("2") == 3) == {"1": 3, "2": 3}
    await asyncio.sleep(0.5)
    for _ in range(3):
        await client.chat.completions.create(**CHAT)  # only the good key is left
    assert len(relay.fake.requests_for("sk-pool-fail-401")) == 1
    assert len(relay.fake.requests_for("sk-pool2-fail-401")) == 1
    assert len(relay.fake.requests_for("sk-pool-good")) == 5
    assert (await channel_row(relay, channel_id))["status"] == 1


async def test_the_channel_goes_when_its_last_key_does(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    channel_id = await multi_key_channel(relay, ["sk-a-fail-401", "sk-b-fail-401"], "polling")
    client = relay.openai(await relay.key())
    for _ in range(2):
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(**CHAT)

    async def status() -> int:
        return int((await channel_row(relay, channel_id))["status"])

    assert await poll(status, lambda s: s == 3) == 3
    row = await channel_row(relay, channel_id)
    assert row["channel_info"]["multi_key_status_list"] == {"0": 3, "1": 3}
    assert "sk-a-fail" not in str(row) and "sk-b-fail" not in str(row)


async def test_a_failed_key_retries_on_the_next_key_of_the_same_channel(relay: Relay) -> None:
    """new-api excludes the whole channel after one key fails; a key pool's 429 should not."""
    await relay.option("RetryTimes", 3)
    pool = await multi_key_channel(relay, ["sk-pool-fail-429", "sk-pool-ok"], "polling")
    spare = await relay.channel(name="spare", key="sk-spare-0001", priority=-1)
    client = relay.openai(await relay.key())
    reply = await client.chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == relay.fake.scenario.text
    assert [r.api_key for r in relay.fake.requests] == ["sk-pool-fail-429", "sk-pool-ok"]
    (log,) = await relay.logs(1)
    admin = log_other(log)["admin_info"]
    assert admin["use_channel"] == [pool, pool] and admin["multi_key_index"] == 1
    # every key of the pool failing moves on to the next tier, each key tried once
    relay.fake.channel("sk-pool-ok", Scenario(error=FakeError(status=429)))
    await client.chat.completions.create(**CHAT)
    tried = [r.api_key for r in relay.fake.requests[2:]]
    assert sorted(tried[:2]) == ["sk-pool-fail-429", "sk-pool-ok"]
    assert tried[2:] == ["sk-spare-0001"]
    assert spare != pool
