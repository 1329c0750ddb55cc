"""OpenAI-format chat through a real server with the official SDK: plain, streaming, tools."""

from __future__ import annotations

import asyncio

import aiohttp
import openai
import orjson
import pytest

from bench.fakes import ToolCall
from tests.relay.conftest import Relay


async def test_plain_chat_is_relayed_and_billed(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = "Hello from upstream"
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 1000, 200
    reply = await relay.openai(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "Hello from upstream"
    assert reply.usage is not None and reply.usage.prompt_tokens == 1000
    sent = relay.fake.last
    assert sent.path == "/v1/chat/completions" and sent.api_key == "sk-up"
    (log,) = await relay.logs(1)
    # gpt-4o-mini: ratio 0.075, completion ratio 4: (1000 + 200 * 4) * 0.075 = 135
    assert (log["quota"], log["prompt_tokens"], log["completion_tokens"]) == (135, 1000, 200)
    assert log["model_name"] == "gpt-4o-mini" and log["is_stream"] is False
    me = await relay.root.get("/api/user/self")
    assert me.data["used_quota"] == 135 and me.data["quota"] == 100_000_000 - 135


async def test_stream_events_leave_one_by_one_with_usage(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = "one two three four five six"
    relay.fake.scenario.chunks = 6
    stream = await relay.openai(key).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    texts, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            texts.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(texts) == "one two three four five six" and len(texts) == 6
    assert usage is not None and usage.completion_tokens == relay.fake.scenario.completion_tokens
    # The gateway asked upstream for usage on the caller's behalf.
    assert relay.fake.last.body["stream_options"] == {"include_usage": True}
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True and log["quota"] > 0


async def test_usage_chunk_hidden_when_not_asked_for(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    stream = await relay.openai(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)
    assert relay.fake.last.body["stream_options"] == {"include_usage": True}
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == relay.fake.scenario.completion_tokens


async def test_each_upstream_event_is_its_own_read(relay: Relay) -> None:
    """No coalescing: every SSE event leaves the gateway as its own HTTP/1.1 chunk.

    Chunk framing survives however the client's reads happen to be timed, so this checks
    what the gateway wrote rather than what one socket read returned.
    """
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.chunks = 5
    relay.fake.scenario.chunk_delay = 0.02
    body = orjson.dumps(
        {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    host, port = relay.gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + body
    )
    await writer.drain()
    raw = await reader.read(-1)
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"x-accel-buffering: no" in head.lower()
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    assert all(chunk.count(b"data: ") == 1 for chunk in chunks), chunks
    content = [chunk for chunk in chunks if b'"content"' in chunk]
    assert len(content) >= 5 and chunks[-1] == b"data: [DONE]\n\n"


async def test_tool_calls_stream_through(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = ""
    relay.fake.scenario.tool_calls = [ToolCall("get_weather", {"city": "Paris"}, pieces=3)]
    relay.fake.scenario.finish_reason = "tool_calls"
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    client = relay.openai(key)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "weather?"}],
        tools=tools,
        stream=True,
    )
    arguments, name = "", None
    async for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name = call.function.name or name
            arguments += call.function.arguments or ""
    assert name == "get_weather" and arguments.replace(" ", "") == '{"city":"Paris"}'
    assert relay.fake.last.body["tools"][0]["function"]["name"] == "get_weather"


async def test_caller_errors_in_openai_format(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    with pytest.raises(openai.AuthenticationError) as bad_key:
        await relay.openai("sk-" + "x" * 48).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert bad_key.value.status_code == 401
    with pytest.raises(openai.APIStatusError) as no_channel:
        await relay.openai(key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert no_channel.value.status_code == 503 and "gpt-4o" in str(no_channel.value)
    with pytest.raises(openai.BadRequestError):
        await relay.openai(key).chat.completions.create(model="", messages=[])
    limited = await relay.key(model_limits_enabled=True, model_limits="gpt-4o")
    with pytest.raises(openai.PermissionDeniedError):
        await relay.openai(limited).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/chat/completions",
            data=b"{not json",
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        body = await resp.json()
        assert resp.status == 400 and body["error"]["type"] == "invalid_request_error"
    assert "Traceback" not in relay.gateway.log_text()


async def test_models_list_follows_group_and_limits(relay: Relay) -> None:
    await relay.channel(models="gpt-4o-mini,gpt-4o")
    key = await relay.key()
    models = await relay.openai(key).models.list()
    assert sorted(m.id for m in models.data) == ["gpt-4o", "gpt-4o-mini"]
    limited = await relay.key(model_limits_enabled=True, model_limits="gpt-4o")
    models = await relay.openai(limited).models.list()
    assert [m.id for m in models.data] == ["gpt-4o"]
    nothing = await relay.key(model_limits_enabled=True, model_limits="")
    assert (await relay.openai(nothing).models.list()).data == []


async def test_thinking_to_content_channel_setting(relay: Relay) -> None:
    await relay.channel(setting='{"thinking_to_content": true}')
    key = await relay.key()
    relay.fake.scenario.thinking = "pondering deeply"
    relay.fake.scenario.text = "The answer."
    stream = await relay.openai(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = ""
    async for chunk in stream:
        for choice in chunk.choices:
            assert getattr(choice.delta, "reasoning_content", None) is None
            text += choice.delta.content or ""
    assert text == "<think>\npondering deeply\n</think>\nThe answer."


async def test_multi_key_channel_spreads_over_its_keys(relay: Relay) -> None:
    reply = await relay.root.post(
        "/api/channel/",
        {
            "mode": "multi_to_single",
            "multi_key_mode": "random",
            "channel": {
                "type": 1,
                "name": "multi",
                "key": "sk-key-a\nsk-key-b",
                "models": "gpt-4o-mini",
                "group": "default",
                "base_url": relay.fake.url,
            },
        },
    )
    assert reply.success, reply.body
    key = await relay.key()
    client = relay.openai(key)
    for _ in range(40):
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    used = {r.api_key for r in relay.fake.requests}
    assert used == {"sk-key-a", "sk-key-b"}
    assert all("\n" not in r.api_key for r in relay.fake.requests)


async def test_stream_without_upstream_usage_is_counted_locally(relay: Relay) -> None:
    from newapi.protocol.tokens import count_messages, count_text

    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.stream_usage = "never"
    relay.fake.scenario.text = "The quick brown fox jumps over the lazy dog."
    relay.fake.scenario.chunks = 7
    messages = [{"role": "user", "content": "Tell me a pangram, please."}]
    stream = await relay.openai(key).chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = None
    async for chunk in stream:
        usage = chunk.usage or usage
    expected_completion = count_text("gpt-4o-mini", relay.fake.scenario.text)
    assert usage is not None and usage.completion_tokens == expected_completion
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == expected_completion
    assert log["prompt_tokens"] == count_messages("gpt-4o-mini", messages) == usage.prompt_tokens
    assert '"local_count_tokens":true' in log["other"]
