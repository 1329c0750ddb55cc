"""Claude both ways: OpenAI callers on Anthropic channels, Anthropic callers on both kinds."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from bench.fakes import ToolCall
from tests.relay.conftest import Relay

SONNET = "claude-sonnet-4-5-20250929"


def claude_client(relay: Relay, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)


async def test_openai_caller_on_anthropic_channel_bills_cache(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET, key="sk-ant-up")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Bonjour", 100, 50
    scenario.cache_read_tokens = 1000
    reply = await relay.openai(key).chat.completions.create(
        model=SONNET,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        max_tokens=300,
    )
    assert reply.choices[0].message.content == "Bonjour"
    assert reply.choices[0].finish_reason == "stop"
    sent = relay.fake.last
    assert sent.path == "/v1/messages" and sent.headers["x-api-key"] == "sk-ant-up"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["system"][0]["text"] == "be brief" and sent.body["max_tokens"] == 300
    # OpenAI semantics for the caller: the prompt includes the cached read.
    assert (
        reply.usage.prompt_tokens == 1100
        and reply.usage.prompt_tokens_details.cached_tokens == 1000
    )
    (log,) = await relay.logs(1)
    # ratio 1.5, completion 5, cache 0.1: (100 + 1000 * 0.1 + 50 * 5) * 1.5 = 675
    assert log["quota"] == 675 and log["prompt_tokens"] == 1100


async def test_openai_stream_with_tools_on_anthropic_channel(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET)
    key = await relay.key()
    relay.fake.scenario.text = "Let me check."
    relay.fake.scenario.tool_calls = [ToolCall("get_weather", {"city": "Oslo"}, pieces=3)]
    relay.fake.scenario.finish_reason = "tool_calls"
    stream = await relay.openai(key).chat.completions.create(
        model=SONNET,
        messages=[{"role": "user", "content": "weather in Oslo?"}],
        stream=True,
        stream_options={"include_usage": True},
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )
    text, args, finish, usage = "", "", None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                args += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert text == "Let me check." and args.replace(" ", "") == '{"city":"Oslo"}'
    assert finish == "tool_calls" and usage is not None and usage.completion_tokens > 0
    assert relay.fake.last.body["tools"][0]["name"] == "get_weather"


async def test_anthropic_sdk_on_anthropic_channel_passes_through(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET)
    key = await relay.key()
    relay.fake.scenario.text = "Hello there"
    client = claude_client(relay, key)
    message = await client.messages.create(
        model=SONNET,
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    assert message.content[0].text == "Hello there" and message.stop_reason == "end_turn"
    assert relay.fake.last.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    text = ""
    async with client.messages.stream(
        model=SONNET, max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        async for delta in stream.text_stream:
            text += delta
        final = await stream.get_final_message()
    assert text == "Hello there" and final.usage.output_tokens > 0
    logs = await relay.logs(2)
    assert {log["is_stream"] for log in logs} == {True, False}
    assert all(log["quota"] > 0 for log in logs)


async def test_anthropic_sdk_on_openai_channel_is_converted(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    relay.fake.scenario.text = "Converted answer"
    client = claude_client(relay, key)
    message = await client.messages.create(
        model="gpt-4o-mini",
        max_tokens=50,
        system="be nice",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert message.content[0].text == "Converted answer"
    sent = relay.fake.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"][0] == {"role": "system", "content": "be nice"}
    text = ""
    async with client.messages.stream(
        model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        async for delta in stream.text_stream:
            text += delta
        final = await stream.get_final_message()
    assert text == "Converted answer" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == relay.fake.scenario.completion_tokens


async def test_claude_errors_in_claude_format(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET, key="sk-fail-529")
    key = await relay.key()
    client = claude_client(relay, key)
    with pytest.raises(anthropic.APIStatusError) as failed:
        await client.messages.create(
            model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert failed.value.status_code == 529
    assert failed.value.body["type"] == "error"
    with pytest.raises(anthropic.AuthenticationError):
        await claude_client(relay, "sk-" + "y" * 48).messages.create(
            model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


async def test_count_tokens_passes_through_to_an_anthropic_channel(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET, key="sk-ant-up")
    key = await relay.key()
    relay.fake.scenario.prompt_tokens = 1234
    client = claude_client(relay, key)
    counted = await client.beta.messages.count_tokens(
        model=SONNET,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
        betas=["context-management-2025-06-27"],
        extra_query={"beta": "true"},  # as Claude Code asks
    )
    assert counted.input_tokens == 1234
    sent = relay.fake.last
    assert sent.path == "/v1/messages/count_tokens" and sent.query == {"beta": "true"}
    assert sent.headers["x-api-key"] == "sk-ant-up"
    assert sent.headers["anthropic-beta"].startswith("context-management-2025-06-27")
    assert sent.body["system"] == "be brief" and sent.body["model"] == SONNET
    # Not billed: a message afterwards is the only log.
    await client.messages.create(
        model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    logs = await relay.logs(1)
    await asyncio.sleep(1.2)  # one more batch interval: a count would have been logged by now
    assert len(await relay.logs(1)) == len(logs) == 1


async def test_count_tokens_counted_locally_for_other_channels(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    client = claude_client(relay, key)
    short = await client.messages.count_tokens(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    longer = await client.messages.count_tokens(
        model="gpt-4o-mini",
        system="You are a helpful assistant.",
        messages=[{"role": "user", "content": "hi " * 50}],
        tools=[{"name": "Bash", "input_schema": {"type": "object", "properties": {}}}],
    )
    # o200k: "user\nhi" is 3 tokens, +3 for the message and +3 for the reply.
    assert short.input_tokens == 9
    assert longer.input_tokens > short.input_tokens + 50
    assert relay.fake.requests == []


async def test_count_tokens_errors_in_claude_shape(relay: Relay) -> None:
    await relay.channel(type=14, models=SONNET)
    key = await relay.key()
    client = claude_client(relay, key)
    with pytest.raises(anthropic.APIStatusError) as unserved:
        await client.messages.count_tokens(
            model="claude-unknown", messages=[{"role": "user", "content": "hi"}]
        )
    assert unserved.value.status_code == 503 and unserved.value.body["type"] == "error"
    with pytest.raises(anthropic.BadRequestError) as bad:
        await client.messages.count_tokens(model=SONNET, messages="hi")  # type: ignore[arg-type]
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.AuthenticationError):
        await claude_client(relay, "sk-" + "y" * 48).messages.count_tokens(
            model=SONNET, messages=[{"role": "user", "content": "hi"}]
        )
