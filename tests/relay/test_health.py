"""Channel tests through the adaptor, auto-disable on failures, auto-enable on a passing test."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.relay.conftest import Relay, poll


async def _status(relay: Relay, channel_id: int) -> int:
    reply = await relay.root.get(f"/api/channel/{channel_id}")
    assert reply.success, reply.body
    return int(reply.data["status"])


async def test_channel_test_sends_a_real_request(relay: Relay) -> None:
    openai_id = await relay.channel()
    claude_id = await relay.channel(type=14, models="claude-sonnet-4-5-20250929")
    reply = await relay.root.get(f"/api/channel/test/{openai_id}")
    assert reply.body["success"] is True and reply.body["time"] >= 0, reply.body
    assert relay.fake.last.path == "/v1/chat/completions"
    assert relay.fake.last.body["model"] == "gpt-4o-mini"
    reply = await relay.root.get(f"/api/channel/test/{claude_id}")
    assert reply.body["success"] is True, reply.body
    assert relay.fake.last.path == "/v1/messages"
    channel = (await relay.root.get(f"/api/channel/{openai_id}")).data
    assert channel["test_time"] > 0
    missing = await relay.root.get("/api/channel/test/999999")
    assert missing.body["success"] is False


async def test_failed_test_disables_and_passing_test_enables(relay: Relay) -> None:
    channel_id = await relay.channel(key="sk-fail-500")
    failed = await relay.root.get(f"/api/channel/test/{channel_id}")
    assert failed.body["success"] is False
    assert await _status(relay, channel_id) == 1  # switches off: nothing changes
    await relay.option("AutomaticDisableChannelEnabled", True)
    await relay.option("AutomaticEnableChannelEnabled", True)
    failed = await relay.root.get(f"/api/channel/test/{channel_id}")
    assert failed.body["success"] is False and "sk-fail-500" not in str(failed.body)
    assert await _status(relay, channel_id) == 3
    assert (await relay.root.put("/api/channel/", {"id": channel_id, "key": "sk-good"})).success
    passed = await relay.root.get(f"/api/channel/test/{channel_id}")
    assert passed.body["success"] is True
    assert await _status(relay, channel_id) == 1


async def test_relay_failures_auto_disable_only_on_disabling_errors(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    bad_key = await relay.channel(key="sk-fail-401", models="gpt-4o-mini")
    key = await relay.key()
    with pytest.raises(openai.APIStatusError):
        await relay.openai(key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    status = await poll(lambda: _status(relay, bad_key), lambda s: s == 3)
    assert status == 3
    # The disabled channel is out of routing at once.
    with pytest.raises(openai.APIStatusError) as gone:
        await relay.openai(key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert gone.value.status_code == 503
    busy = await relay.channel(key="sk-fail-429", models="gpt-4o")
    with pytest.raises(openai.RateLimitError):
        await relay.openai(key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    no_ban = await relay.channel(key="sk-fail-401", models="gpt-4.1", auto_ban=0)
    with pytest.raises(openai.APIStatusError):
        await relay.openai(key).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
        )
    await asyncio.sleep(1)  # the health check runs in the background: let it finish
    assert await _status(relay, busy) == 1 and await _status(relay, no_ban) == 1
