"""Error logs (type 5) with ERROR_LOG_ENABLED: refused and failed calls, shown to admins."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.relay.conftest import Relay, StartRelay, log_other, new_user, poll

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def error_logs(relay: Relay, count: int) -> list[dict]:
    async def fetch() -> list[dict]:
        reply = await relay.root.get("/api/log/", params={"type": 5, "page_size": 100})
        assert reply.success, reply.body
        return list(reply.data["items"])

    return await poll(fetch, lambda rows: len(rows) >= count)


async def test_failed_and_refused_calls_are_logged(start_relay: StartRelay) -> None:
    relay = await start_relay(ERROR_LOG_ENABLED="true")
    failing = await relay.channel(name="down", key="sk-up-fail-500")
    key = await relay.key()
    client = relay.openai(key)
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(**CHAT)
    with pytest.raises(openai.APIStatusError) as missing:
        await client.chat.completions.create(**{**CHAT, "model": "gpt-4o"})
    assert missing.value.status_code == 503
    with pytest.raises(openai.AuthenticationError):
        await relay.openai("sk-not-a-key").chat.completions.create(**CHAT)
    rows = await error_logs(relay, 2)
    await asyncio.sleep(1.5)  # a third row (the unknown key) would have been flushed by now
    rows = await error_logs(relay, 2)
    assert len(rows) == 2, rows
    by_model = {row["model_name"]: row for row in rows}
    upstream = by_model["gpt-4o-mini"]
    assert upstream["type"] == 5 and upstream["quota"] == 0
    assert upstream["channel"] == failing and upstream["token_name"] == "app"
    assert upstream["content"] == failed.value.body["message"]  # type: ignore[index]
    other = log_other(upstream)
    assert other["status_code"] == 500 and other["admin_info"] == {"use_channel": [failing]}
    assert upstream["request_id"] == failed.value.response.headers["X-Oneapi-Request-Id"]
    no_channel = log_other(by_model["gpt-4o"])
    assert no_channel["status_code"] == 503 and no_channel["error_code"] == "model_not_found"
    assert "sk-up-fail-500" not in str(rows)


async def test_the_owner_sees_errors_without_admin_details(start_relay: StartRelay) -> None:
    relay = await start_relay(ERROR_LOG_ENABLED="true")
    await relay.channel(key="sk-up-fail-429")
    _, user = await new_user(relay, "alice", 1_000_000)
    try:
        reply = await user.post("/api/token/", {"name": "mine", "unlimited_quota": True})
        key = "sk-" + reply.data["key"]
        with pytest.raises(openai.RateLimitError):
            await relay.openai(key).chat.completions.create(**CHAT)
        await error_logs(relay, 1)
        own = await user.get("/api/log/self", params={"type": 5})
        (row,) = own.data["items"]
        assert row["token_name"] == "mine" and "admin_info" not in log_other(row)
        assert log_other(row)["status_code"] == 429
    finally:
        await user.close()


async def test_nothing_is_logged_without_the_switch(relay: Relay) -> None:
    await relay.channel(key="sk-up-fail-500")
    key = await relay.key()
    with pytest.raises(openai.InternalServerError):
        await relay.openai(key).chat.completions.create(**CHAT)
    await asyncio.sleep(1.5)
    reply = await relay.root.get("/api/log/", params={"type": 5})
    assert reply.data["items"] == []
