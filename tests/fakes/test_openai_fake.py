"""The OpenAI and Azure fakes driven by the official openai SDK: they speak the real wire format."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest

from bench.fakes import FakeError, FakeProviders, Scenario, ToolCall, split_text
from bench.fakes.openai_extras import embedding_vector

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as server:
        yield server


@pytest.fixture
async def client(fake: FakeProviders) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(base_url=fake.openai_url, api_key="sk-test-key", max_retries=0)
    yield sdk
    await sdk.close()


async def post_raw(
    fake: FakeProviders, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + path, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_chat_completion_object(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario = Scenario(
        text="Hi there", prompt_tokens=30, completion_tokens=7, cached_tokens=12, reasoning_tokens=3
    )
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert reply.id.startswith("chatcmpl-")
    assert reply.object == "chat.completion"
    assert reply.model == "gpt-4o-mini"
    assert reply.system_fingerprint
    choice = reply.choices[0]
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, "stop", None)
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hi there"
    assert choice.message.tool_calls is None
    usage = reply.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (30, 7, 37)
    assert usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 12
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 3


async def test_requests_are_recorded_and_cleared(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    recorded = fake.last
    assert (recorded.method, recorded.path, recorded.provider) == (
        "POST",
        "/v1/chat/completions",
        "openai",
    )
    assert recorded.headers["authorization"] == "Bearer sk-test-key"
    assert recorded.api_key == "sk-test-key"
    assert recorded.model == "gpt-4o"
    assert recorded.stream is True
    assert recorded.json["stream_options"] == {"include_usage": True}
    assert recorded.json["messages"] == MESSAGES
    assert json.loads(recorded.raw) == recorded.body

    fake.clear()
    assert fake.requests == []


async def test_stream_with_include_usage(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario = Scenario(text="The quick brown fox", chunks=4, prompt_tokens=9, cached_tokens=4)
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [
        c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content
    ]
    assert contents == split_text("The quick brown fox", 4)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(chunk.usage is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (9, 20)
    assert last.usage.prompt_tokens_details
    assert last.usage.prompt_tokens_details.cached_tokens == 4


async def test_stream_usage_only_when_requested(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)

    fake.scenario.stream_usage = "never"
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert all([chunk.choices and chunk.usage is None async for chunk in stream])

    fake.scenario.stream_usage = "always"
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


async def test_tool_calls_plain_and_streamed(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    arguments = {"city": "Paris", "unit": "celsius"}
    fake.scenario = Scenario(
        text="", tool_calls=[ToolCall("get_weather", arguments, pieces=3), ToolCall("noop")]
    )
    reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [(c.type, c.function.name) for c in calls] == [
        ("function", "get_weather"),
        ("function", "noop"),
    ]  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == arguments  # type: ignore[union-attr]
    assert all(call.id.startswith("call_") for call in calls)

    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    pieces: dict[int, list[str]] = {}
    heads: dict[int, tuple[str | None, str | None]] = {}
    finish = None
    async for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                assert delta.function is not None
                if delta.id:
                    heads[delta.index] = (delta.id, delta.function.name)
                pieces.setdefault(delta.index, []).append(delta.function.arguments or "")
    assert finish == "tool_calls"
    assert heads[0][1] == "get_weather" and heads[1][1] == "noop"
    assert len(pieces[0]) == 1 + 3  # the head with "" arguments, then three pieces
    assert json.loads("".join(pieces[0])) == arguments
    assert "".join(pieces[1]) == "{}"


async def test_thinking_streams_as_reasoning_content(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    fake.scenario = Scenario(text="42", thinking="Let me think", chunks=2)
    stream = await client.chat.completions.create(
        model="deepseek-r1", messages=MESSAGES, stream=True
    )
    reasoning = [
        (chunk.choices[0].delta.model_extra or {}).get("reasoning_content")
        async for chunk in stream
        if chunk.choices
    ]
    assert [piece for piece in reasoning if piece] == ["Let me", " think"]


@pytest.mark.parametrize(
    ("status", "exception", "error_type", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
)
async def test_errors_raise_typed_sdk_exceptions(
    fake: FakeProviders,
    client: openai.AsyncOpenAI,
    status: int,
    exception: type[openai.APIStatusError],
    error_type: str,
    code: str | None,
) -> None:
    fake.scenario.error = FakeError(status, message=f"scripted {status}")
    with pytest.raises(exception) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    error = caught.value
    assert error.status_code == status
    assert error.body == {
        "message": f"scripted {status}",
        "type": error_type,
        "param": None,
        "code": code,
    }
    assert error.response.headers["x-request-id"].startswith("req_")


async def test_error_for_the_next_k_requests_then_success(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    fake.scenario.error = FakeError(429, times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert caught.value.response.headers["retry-after"] == "7"
        assert "Rate limit reached for gpt-4o-mini" in caught.value.message
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert reply.choices[0].message.content == fake.scenario.text
    assert len(fake.requests) == 3


async def test_mid_stream_disconnect_raises(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    fake.scenario = Scenario(text="abcdefgh", chunks=4, disconnect_after=2)
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert received == ["ab", "cd"]

    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


async def test_stalled_stream_sends_nothing_more_until_the_client_leaves(
    fake: FakeProviders, client: openai.AsyncOpenAI
) -> None:
    fake.scenario = Scenario(text="abcdefgh", chunks=4, stall_after=1)
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            async for chunk in stream:
                received.extend(c.delta.content or "" for c in chunk.choices)
    await stream.close()
    assert "".join(received) == "ab"


async def test_mid_stream_error_event(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3)
    fake.scenario.error = FakeError(500, message="upstream fell over", after_chunks=1)
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="upstream fell over"):
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert received == ["ab"]

    # a non-stream request gets the same error as an HTTP status
    with pytest.raises(openai.InternalServerError, match="upstream fell over"):
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


async def test_delays_shape_the_timing(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario = Scenario(text="abc", chunks=3, first_byte_delay=0.2, chunk_delay=0.1)
    started = time.monotonic()
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    headers_at = time.monotonic() - started
    arrivals = [
        time.monotonic() - started
        async for chunk in stream
        if chunk.choices and chunk.choices[0].delta.content
    ]
    assert headers_at >= 0.15
    assert len(arrivals) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap >= 0.05 for gap in gaps), gaps


async def test_events_are_written_one_by_one(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcd", chunks=4, chunk_delay=0.05)
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    reads: list[bytes] = []
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.openai_url + "/chat/completions", json=body, headers={"Authorization": "Bearer k"}
        ) as resp,
    ):
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        async for data in resp.content.iter_any():
            reads.append(data)
    # the tail (finish chunk, [DONE]) follows the last delta without a delay, so it may share
    # a read with it; each delayed content delta arrives on its own
    content_reads = [read for read in reads if b'"content":"' in read and b'"role"' not in read]
    assert len(content_reads) == 4
    assert all(read.startswith(b"data: ") for read in content_reads)
    assert all(read.count(b'"content":"') == 1 for read in content_reads)
    assert all(read.count(b"data: ") == 1 for read in content_reads[:-1])
    assert b"".join(reads).endswith(b"data: [DONE]\n\n")


async def test_per_key_scenarios(fake: FakeProviders) -> None:
    fake.channel("sk-a").text = "from channel A"
    fake.channel("sk-b").error = FakeError(429, message="B is busy")
    clients = {
        key: openai.AsyncOpenAI(base_url=fake.openai_url, api_key=key, max_retries=0)
        for key in ("sk-a", "sk-b", "sk-fail-503", "sk-other")
    }
    reply = await clients["sk-a"].chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "from channel A"
    with pytest.raises(openai.RateLimitError, match="B is busy"):
        await clients["sk-b"].chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError) as caught:
        await clients["sk-fail-503"].chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 503
    reply = await clients["sk-other"].chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == Scenario().text

    assert [r.api_key for r in fake.requests] == ["sk-a", "sk-b", "sk-fail-503", "sk-other"]
    assert len(fake.requests_for("sk-b")) == 1
    for sdk in clients.values():
        await sdk.close()


async def test_provider_checks_before_scenario(fake: FakeProviders) -> None:
    status, body = await post_raw(
        fake, "/v1/chat/completions", {"model": "m", "messages": MESSAGES}, {}
    )
    assert status == 401
    assert body["error"]["message"].startswith("You didn't provide an API key")

    auth = {"Authorization": "Bearer sk-x"}
    status, body = await post_raw(fake, "/v1/chat/completions", {"model": "m"}, auth)
    assert status == 400
    assert body["error"]["param"] == "messages"
    assert body["error"]["code"] == "missing_required_parameter"
    assert len(fake.requests) == 2  # rejected requests are recorded too


async def test_legacy_completions(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario = Scenario(text="once upon a time", chunks=2, finish_reason="length")
    reply = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Tell me")
    assert reply.object == "text_completion"
    assert reply.choices[0].text == "once upon a time"
    assert reply.choices[0].finish_reason == "length"

    stream = await client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="Tell me",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "once upon a time"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


async def test_embeddings_float_and_base64(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    reply = await client.embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float"
    )
    assert [item.index for item in reply.data] == [0, 1]
    assert reply.data[0].embedding == embedding_vector("alpha", 8)
    assert reply.usage.prompt_tokens == fake.scenario.prompt_tokens

    # the SDK asks for base64 by default and decodes float32 itself
    reply = await client.embeddings.create(
        model="text-embedding-3-small", input="alpha", dimensions=4
    )
    assert fake.last.json["encoding_format"] == "base64"
    assert reply.data[0].embedding == pytest.approx(embedding_vector("alpha", 4), abs=1e-6)


async def test_models_and_moderations(fake: FakeProviders, client: openai.AsyncOpenAI) -> None:
    fake.scenario.models = ("gpt-4o", "o3-mini")
    listed = [model.id async for model in client.models.list()]
    assert listed == ["gpt-4o", "o3-mini"]

    fake.scenario.flagged = True
    reply = await client.moderations.create(input=["bad", "worse"])
    assert [result.flagged for result in reply.results] == [True, True]
    assert reply.results[0].categories.violence is True


async def test_azure_deployment_path(fake: FakeProviders) -> None:
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint=fake.url, api_key="azure-key", api_version="2024-10-21", max_retries=0
    )
    reply = await azure.chat.completions.create(model="my-gpt4o", messages=MESSAGES)
    assert reply.choices[0].message.content == fake.scenario.text
    assert reply.model == "my-gpt4o"
    recorded = fake.last
    assert recorded.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert recorded.query["api-version"] == "2024-10-21"
    assert recorded.headers["api-key"] == "azure-key"
    assert "authorization" not in recorded.headers
    assert (recorded.provider, recorded.api_key) == ("azure", "azure-key")
    assert reply.model_extra and "prompt_filter_results" in reply.model_extra

    stream = await azure.chat.completions.create(
        model="my-gpt4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices == [] and chunks[0].model == ""  # Azure's content-filter chunk
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == fake.scenario.text
    )
    assert chunks[-1].usage is not None

    embedded = await azure.embeddings.create(
        model="my-embedder", input="x", encoding_format="float"
    )
    assert fake.last.path == "/openai/deployments/my-embedder/embeddings"
    assert len(embedded.data[0].embedding) == 8
    await azure.close()


async def test_azure_errors_and_v1_api(fake: FakeProviders) -> None:
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint=fake.url, api_key="azure-key", api_version="2024-10-21", max_retries=0
    )
    fake.scenario.error = FakeError(429, times=1)
    with pytest.raises(openai.RateLimitError) as caught:
        await azure.chat.completions.create(model="dep", messages=MESSAGES)
    assert caught.value.body["code"] == "429"  # type: ignore[index]
    assert "Azure OpenAI API version 2024-10-21" in caught.value.body["message"]  # type: ignore[index]

    status, body = await post_raw(
        fake, "/openai/deployments/dep/chat/completions", {"messages": MESSAGES}, {"api-key": "k"}
    )
    assert (status, body["error"]["code"]) == (404, "404")  # no api-version

    v1 = openai.AsyncOpenAI(base_url=fake.url + "/openai/v1", api_key="azure-key", max_retries=0)
    reply = await v1.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == fake.scenario.text
    assert (fake.last.path, fake.last.provider) == ("/openai/v1/chat/completions", "azure")
    await azure.close()
    await v1.close()
