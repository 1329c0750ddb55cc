"""The ``auto`` token group: AutoGroups order, its ratio billed, cross-group retry."""

from __future__ import annotations

import openai
import pytest

from tests.relay.conftest import Relay, log_other, new_key

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# gpt-4o-mini: (10 prompt + 20 completion x 4) x 0.075 = 6.75 quota before the group ratio
BASE_QUOTA = 6.75


async def auto_setup(relay: Relay) -> None:
    await relay.option("GroupRatio", {"default": 1, "vip": 2, "svip": 1})
    await relay.option("UserUsableGroups", {"default": "d", "vip": "v", "auto": "a"})
    await relay.option("AutoGroups", ["svip", "vip", "default"])  # svip: not usable, skipped
    await relay.option("RetryTimes", 3)


async def test_first_serving_auto_group_routes_and_bills(relay: Relay) -> None:
    await auto_setup(relay)
    await relay.channel(name="vip", group="vip", key="sk-vip-0001")
    await relay.channel(name="default", group="default", key="sk-def-0001", models="gpt-4o")
    await relay.channel(name="svip", group="svip", key="sk-svip-0001")
    _, key = await new_key(relay.root, group="auto")
    client = relay.openai(key)
    await client.chat.completions.create(**CHAT)
    await client.chat.completions.create(**{**CHAT, "model": "gpt-4o"})
    assert [r.api_key for r in relay.fake.requests] == ["sk-vip-0001", "sk-def-0001"]
    logs = {row["model_name"]: row for row in await relay.logs(2)}
    assert logs["gpt-4o-mini"]["group"] == "vip"
    assert logs["gpt-4o-mini"]["quota"] == round(BASE_QUOTA * 2)
    assert logs["gpt-4o"]["group"] == "default"
    models = sorted([m.id async for m in client.models.list()])
    assert models == ["gpt-4o", "gpt-4o-mini"]


async def test_without_cross_group_retry_the_first_group_is_the_only_one(relay: Relay) -> None:
    await auto_setup(relay)
    await relay.channel(name="vip", group="vip", key="sk-vip-fail-500")
    await relay.channel(name="default", group="default", key="sk-def-0001")
    _, key = await new_key(relay.root, group="auto")
    with pytest.raises(openai.InternalServerError):
        await relay.openai(key).chat.completions.create(**CHAT)
    assert relay.fake.requests_for("sk-def-0001") == []
    assert len(relay.fake.requests_for("sk-vip-fail-500")) == 1


async def test_cross_group_retry_goes_on_to_the_next_group_and_bills_it(relay: Relay) -> None:
    await auto_setup(relay)
    vip_top = await relay.channel(name="v1", group="vip", key="sk-vip-fail-500", priority=5)
    vip_low = await relay.channel(name="v2", group="vip", key="sk-vip2-fail-502")
    fallback = await relay.channel(name="default", group="default", key="sk-def-0001")
    _, key = await new_key(relay.root, group="auto", cross_group_retry=True)
    reply = await relay.openai(key).chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == relay.fake.scenario.text
    # the first group's tiers top to bottom, then the next group
    assert [r.api_key for r in relay.fake.requests] == [
        "sk-vip-fail-500",
        "sk-vip2-fail-502",
        "sk-def-0001",
    ]
    (log,) = await relay.logs(1)
    assert log["group"] == "default" and log["channel"] == fallback
    assert log["quota"] == round(BASE_QUOTA * 1)
    assert log_other(log)["admin_info"]["use_channel"] == [vip_top, vip_low, fallback]


async def test_auto_needs_to_be_a_usable_group(relay: Relay) -> None:
    await relay.option("AutoGroups", ["default"])
    await relay.channel()
    _, key = await new_key(relay.root, group="auto")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await relay.openai(key).chat.completions.create(**CHAT)
    assert "auto" in refused.value.message
