"""Streams that end early: the caller leaves, upstream drops, upstream is slow to start."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import openai
import orjson
import pytest

from tests.relay.conftest import Relay, StartRelay, WatchedFakes, log_other, new_key

HELLO = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-4o-mini", "messages": HELLO}
PIECES = [f"word{index:02d} more " for index in range(20)]
FULL_USAGE = 500  # what upstream reports, only at the end of a complete stream


def twenty_pieces(relay: Relay, delay: float = 0.0) -> None:
    scenario = relay.fake.scenario
    scenario.text, scenario.chunks, scenario.chunk_delay = "".join(PIECES), 20, delay
    scenario.completion_tokens = FULL_USAGE


async def read_events(relay: Relay, key: str, count: int | None) -> float:
    """Stream a chat over raw HTTP; close after ``count`` events (None: read all); the time."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        assert resp.status == 200
        seen = 0
        async for line in resp.content:
            seen += line.startswith(b"data: ")
            if seen == count:
                resp.close()
                break
        else:
            assert count is None, f"the stream ended before {count} events"
        return time.monotonic()


async def test_caller_leaving_stops_upstream_and_bills_what_was_sent(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay()
    fake = relay.fake
    assert isinstance(fake, WatchedFakes)
    await relay.channel()
    key = await relay.key()
    twenty_pieces(relay, delay=0.05)  # a full stream takes 20 x 0.05 = 1 s
    closed = await read_events(relay, key, 3)
    (log,) = await relay.logs(1)
    assert time.monotonic() - closed < 3.0
    (handled,) = fake.handled
    # Upstream's connection was closed right after the caller's: it stopped mid-stream
    # (writing the whole stream takes at least its 20 x 0.05 s of delays).
    assert handled.ended - handled.started < 1.0, handled
    assert handled.ended - closed < 0.8, handled.ended - closed
    assert 0 < log["completion_tokens"] < FULL_USAGE
    assert log["is_stream"] is True and log["quota"] > 0
    assert log_other(log)["admin_info"].get("local_count_tokens") is True
    # The same answer delivered in full and estimated the same way counts far more tokens.
    relay.fake.scenario.stream_usage = "never"
    await read_events(relay, key, None)
    (full,) = [row for row in await relay.logs(2) if row["request_id"] != log["request_id"]]
    assert full["completion_tokens"] > 2 * log["completion_tokens"], (full, log)
    assert "Traceback" not in relay.gateway.log_text()


async def test_upstream_dropping_mid_stream_is_an_error_for_the_caller(relay: Relay) -> None:
    """new-api ends a truncated stream with a clean [DONE]: the caller cannot tell the answer
    is incomplete. newapi sends OpenAI's in-stream error instead, which the SDK raises."""
    await relay.option("RetryTimes", 2)
    first = await relay.channel(name="first", key="sk-first-0001", priority=10)
    await relay.channel(name="spare", key="sk-spare-0001", priority=0)
    key = await relay.key()
    twenty_pieces(relay)
    relay.fake.scenario.disconnect_after = 3
    client = relay.openai(key)
    for include_usage in (True, False):
        stream = await client.chat.completions.create(
            **CHAT, stream=True, stream_options={"include_usage": include_usage}
        )
        texts: list[str] = []
        with pytest.raises(openai.APIError) as raised:
            async for chunk in stream:
                texts.extend(c.delta.content or "" for c in chunk.choices)
        assert "".join(texts) == "".join(PIECES[:3])
        assert raised.value.code == "stream_interrupted"
        assert raised.value.message == "the upstream connection broke"
    # Bytes had reached the caller: no failover to the spare channel after that.
    assert relay.fake.requests_for("sk-spare-0001") == []
    assert len(relay.fake.requests_for("sk-first-0001")) == 2
    logs = await relay.logs(2)
    assert len(logs) == 2
    for log in logs:
        assert 0 < log["completion_tokens"] < FULL_USAGE and log["quota"] > 0
        other = log_other(log)
        admin = other["admin_info"]  # (also the channel affinity's record, not checked here)
        assert admin["use_channel"] == [first] and admin["local_count_tokens"] is True
        assert other["stream_status"]["status"] == "error"
        assert other["stream_status"]["end_reason"] == "upstream_error"
    assert "Traceback" not in relay.gateway.log_text()


async def test_raw_stream_ends_with_the_error_event_and_no_done(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    twenty_pieces(relay)
    relay.fake.scenario.disconnect_after = 2
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        body = await resp.read()
    events = [e for e in body.split(b"\n\n") if e]
    assert b"[DONE]" not in body
    error = orjson.loads(events[-1].removeprefix(b"data: "))
    assert error["error"]["code"] == "stream_interrupted"
    assert error["error"]["type"] == "upstream_error"


async def test_idle_upstream_is_a_timeout_error_and_logged(start_relay: StartRelay) -> None:
    relay = await start_relay(STREAMING_TIMEOUT="1")
    await relay.channel()
    key = await relay.key()
    twenty_pieces(relay)
    relay.fake.scenario.chunk_delay = 0.0
    relay.fake.scenario.stall_after = 2
    stream = await relay.openai(key).chat.completions.create(**CHAT, stream=True)
    texts: list[str] = []
    started = time.monotonic()
    with pytest.raises(openai.APIError) as raised:
        async for chunk in stream:
            texts.extend(c.delta.content or "" for c in chunk.choices)
    assert 0.9 < time.monotonic() - started < 5
    assert "".join(texts) == "".join(PIECES[:2])
    assert (
        raised.value.code == "stream_interrupted" and "sent nothing for 1 s" in raised.value.message
    )
    (log,) = await relay.logs(1)
    status = log_other(log)["stream_status"]
    assert status["end_reason"] == "timeout" and status["status"] == "error"


async def test_complete_stream_logs_done(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    stream = await relay.openai(key).chat.completions.create(**CHAT, stream=True)
    assert [c async for c in stream]
    (log,) = await relay.logs(1)
    assert log_other(log)["stream_status"] == {"status": "ok", "end_reason": "done"}


async def test_slow_first_byte_still_works(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.first_byte_delay = 0.8
    client = relay.openai(key)
    reply = await client.chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == relay.fake.scenario.text
    stream = await client.chat.completions.create(**CHAT, stream=True)
    texts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(texts) == relay.fake.scenario.text
    logs = await relay.logs(2)
    assert sorted(log["is_stream"] for log in logs) == [False, True]
    for log in logs:
        assert log_other(log)["frt"] >= 800 and log["quota"] > 0
        assert log["completion_tokens"] == relay.fake.scenario.completion_tokens


async def test_caller_leaving_before_the_first_byte_is_refunded(relay: Relay) -> None:
    await relay.channel()
    await relay.option("ModelPrice", {"gpt-4o-mini": 0.002})  # 1 000 quota a call
    token_id, key = await new_key(relay.root, unlimited_quota=False, remain_quota=1_000)
    relay.fake.scenario.first_byte_delay = 1.0
    async with aiohttp.ClientSession() as http:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await http.post(
                    relay.gateway.url + "/v1/chat/completions",
                    json=CHAT,
                    headers={"Authorization": f"Bearer {key}"},
                )
    relay.fake.scenario.first_byte_delay = 0.0
    # The abandoned call's reservation is given back: the key's only call is still there.
    reply = await relay.openai(key).chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == relay.fake.scenario.text
    assert len(relay.fake.requests) == 2
    # Had the abandoned call gone on, its answer (at 1 s) would be billed and flushed by now.
    await asyncio.sleep(1.8)
    logs = await relay.logs(1)
    token = await relay.root.get(f"/api/token/{token_id}")
    assert len(logs) == 1 and token.data["used_quota"] == 1_000
    assert "Traceback" not in relay.gateway.log_text()
