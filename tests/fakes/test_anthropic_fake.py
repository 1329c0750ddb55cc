"""The Anthropic fake driven by the official anthropic SDK: it speaks the real wire format."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import httpx2
import orjson
import pytest

from bench.fakes import FakeError, FakeProviders, Scenario, ToolCall, split_text

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]
MODEL = "claude-sonnet-4-20250514"
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as server:
        yield server


@pytest.fixture
async def client(fake: FakeProviders) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0)
    yield sdk
    await sdk.close()


async def raw_events(fake: FakeProviders, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(event name, parsed data) pairs exactly as they came off the wire."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + "/v1/messages", json=body, headers=HEADERS) as resp,
    ):
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = (await resp.read()).decode()
    events = []
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == name_line.removeprefix("event: ")
        events.append((data["type"], data))
    return events


async def test_message_object(fake: FakeProviders, client: anthropic.AsyncAnthropic) -> None:
    fake.scenario = Scenario(
        text="Hi there",
        prompt_tokens=5,
        completion_tokens=9,
        cache_read_tokens=100,
        cache_creation_tokens=20,
        cache_creation_1h_tokens=3,
    )
    reply = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)

    assert reply.id.startswith("msg_")
    assert (reply.type, reply.role, reply.model) == ("message", "assistant", MODEL)
    assert [block.type for block in reply.content] == ["text"]
    assert reply.content[0].text == "Hi there"  # type: ignore[union-attr]
    assert (reply.stop_reason, reply.stop_sequence) == ("end_turn", None)
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens) == (5, 9)
    assert usage.cache_read_input_tokens == 100
    assert usage.cache_creation_input_tokens == 23
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_5m_input_tokens == 20
    assert usage.cache_creation.ephemeral_1h_input_tokens == 3


async def test_headers_are_recorded(fake: FakeProviders, client: anthropic.AsyncAnthropic) -> None:
    await client.beta.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=MESSAGES,
        betas=["interleaved-thinking-2025-05-14"],
    )
    recorded = fake.last
    assert (recorded.path, recorded.provider, recorded.api_key) == (
        "/v1/messages",
        "anthropic",
        "sk-ant-test",
    )
    # this SDK generation sends the key as a Bearer token; older ones used x-api-key
    sent_key = recorded.headers.get("x-api-key") or recorded.headers["authorization"]
    assert sent_key.removeprefix("Bearer ") == "sk-ant-test"
    assert recorded.headers["anthropic-version"][:2] == "20"  # a dated API version
    assert recorded.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert recorded.json["max_tokens"] == 64


async def test_stream_event_sequence_on_the_wire(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3, prompt_tokens=7, cache_read_tokens=2)
    body = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, "stream": True}
    events = await raw_events(fake, body)

    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert (start["content"], start["stop_reason"]) == ([], None)
    assert start["usage"]["input_tokens"] == 7
    assert start["usage"]["cache_read_input_tokens"] == 2
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert deltas == [{"type": "text_delta", "text": piece} for piece in split_text("abcdef", 3)]
    final = events[-2][1]
    assert final["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert final["usage"]["output_tokens"] == 20
    assert final["usage"]["input_tokens"] == 7  # cumulative totals, as the current API sends


async def test_stream_thinking_text_and_tool_use(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario = Scenario(
        text="Checking the weather.",
        thinking="The user wants weather.",
        tool_calls=[ToolCall("get_weather", {"city": "Paris"}, pieces=3)],
        prompt_tokens=11,
        completion_tokens=33,
    )
    deltas: list[str] = []
    async with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                deltas.append(event.delta.type)
        final = await stream.get_final_message()

    assert deltas.count("thinking_delta") == 3
    assert deltas.count("signature_delta") == 1
    assert deltas.count("text_delta") == 3
    assert deltas.count("input_json_delta") == 3
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    thinking, text, tool = final.content
    assert thinking.thinking == "The user wants weather."  # type: ignore[union-attr]
    assert thinking.signature  # type: ignore[union-attr]
    assert text.text == "Checking the weather."  # type: ignore[union-attr]
    assert tool.name == "get_weather" and tool.input == {"city": "Paris"}  # type: ignore[union-attr]
    assert tool.id.startswith("toolu_")  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 33)


async def test_plain_tool_use_and_stop_reason_mapping(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario = Scenario(text="", tool_calls=[ToolCall("lookup", '{"q": "x"}', id="toolu_1")])
    reply = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert [block.type for block in reply.content] == ["tool_use"]
    assert reply.content[0].id == "toolu_1"  # type: ignore[union-attr]
    assert reply.content[0].input == {"q": "x"}  # type: ignore[union-attr]
    assert reply.stop_reason == "tool_use"

    fake.scenario = Scenario(finish_reason="length")
    reply = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert reply.stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_errors_raise_typed_sdk_exceptions(
    fake: FakeProviders,
    client: anthropic.AsyncAnthropic,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    fake.scenario.error = FakeError(status, message=f"scripted {status}")
    with pytest.raises(exception) as caught:
        await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    error = caught.value
    assert error.status_code == status
    assert (error.type, error.api_message) == (error_type, f"scripted {status}")
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["request_id"] == error.request_id
    assert error.request_id and error.request_id.startswith("req_")


async def test_default_error_messages(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario.error = FakeError(529, times=1)
    with pytest.raises(anthropic.OverloadedError) as caught:
        await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert caught.value.api_message == "Overloaded"
    reply = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert reply.stop_reason == "end_turn"


async def test_mid_stream_error_event(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3)
    fake.scenario.error = FakeError(529, after_chunks=2)
    texts: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            async for text in stream.text_stream:
                texts.append(text)
    assert texts == ["ab", "cd"]
    assert caught.value.type == "overloaded_error"
    assert caught.value.api_message == "Overloaded"


async def test_mid_stream_disconnect_raises(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3, disconnect_after=1)
    texts: list[str] = []
    # the anthropic SDK lets the transport's error through mid-stream (openai's wraps it)
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            async for text in stream.text_stream:
                texts.append(text)
    assert texts == ["ab"]

    with pytest.raises(anthropic.APIConnectionError):
        await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)


async def test_delays_shape_the_timing(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario = Scenario(text="abc", chunks=3, first_byte_delay=0.2, chunk_delay=0.1)
    started = time.monotonic()
    arrivals: list[float] = []
    async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        headers_at = time.monotonic() - started
        async for _ in stream.text_stream:
            arrivals.append(time.monotonic() - started)
    assert headers_at >= 0.15
    assert len(arrivals) == 3
    assert all(later - earlier >= 0.05 for earlier, later in itertools.pairwise(arrivals))


async def test_provider_checks(fake: FakeProviders) -> None:
    body = {"model": MODEL, "messages": MESSAGES}
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/messages", json=body, headers=HEADERS) as resp:
            assert resp.status == 400
            payload = await resp.json()
        assert payload["error"] == {
            "type": "invalid_request_error",
            "message": "max_tokens: Field required",
        }
        no_version = {"x-api-key": "k"}
        body["max_tokens"] = 10
        async with session.post(fake.url + "/v1/messages", json=body, headers=no_version) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"][
                "message"
            ] == "anthropic-version: header is required"
        async with session.post(
            fake.url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
        ) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["type"] == "authentication_error"


async def test_count_tokens_and_models(
    fake: FakeProviders, client: anthropic.AsyncAnthropic
) -> None:
    fake.scenario.prompt_tokens = 123
    counted = await client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    assert counted.input_tokens == 123

    fake.scenario.models = (MODEL, "claude-opus-4-20250514")
    listed = [model.id async for model in client.models.list()]
    assert listed == [MODEL, "claude-opus-4-20250514"]
    assert fake.last.provider == "anthropic"


async def test_per_key_scenarios(fake: FakeProviders) -> None:
    fake.channel("key-a", Scenario(text="from A"))
    first = anthropic.AsyncAnthropic(base_url=fake.url, api_key="key-a", max_retries=0)
    second = anthropic.AsyncAnthropic(base_url=fake.url, api_key="key-fail-429", max_retries=0)
    reply = await first.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert reply.content[0].text == "from A"  # type: ignore[union-attr]
    with pytest.raises(anthropic.RateLimitError):
        await second.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert [request.api_key for request in fake.requests] == ["key-a", "key-fail-429"]
    await first.close()
    await second.close()
