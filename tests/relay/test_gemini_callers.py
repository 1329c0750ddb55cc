"""Gemini-format callers (Google's own google-genai SDK) on OpenAI and Anthropic channels:
converted through the hub, billed from the upstream's usage, errors in Google's shape."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from bench.fakes import FakeError, ToolCall
from tests.relay.conftest import Relay

WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Weather of a city",
            parameters=types.Schema(
                type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]
            ),
        )
    ]
)


def gemini_client(relay: Relay, key: str, version: str = "v1beta") -> genai.Client:
    options = types.HttpOptions(base_url=relay.gateway.url, api_version=version, timeout=60_000)
    return genai.Client(api_key=key, http_options=options)


@pytest.mark.parametrize("version", ["v1beta", "v1"])
async def test_genai_sdk_on_openai_channel_plain_and_billed(relay: Relay, version: str) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Hallo!", 120, 30
    client = gemini_client(relay, key, version)
    reply = await client.aio.models.generate_content(
        model="gpt-4o-mini",
        contents="Say hello in German",
        config=types.GenerateContentConfig(
            system_instruction="You are terse.", temperature=0.2, max_output_tokens=64
        ),
    )
    assert reply.text == "Hallo!"
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.usage_metadata.prompt_token_count == 120
    assert reply.usage_metadata.candidates_token_count == 30
    sent = relay.fake.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert sent.body["max_tokens"] == 64 and sent.body["temperature"] == 0.2
    assert sent.headers["Authorization"] == "Bearer sk-up"  # the channel key, not the caller's
    (log,) = await relay.logs(1)
    # gpt-4o-mini: ratio 0.075, completion ratio 4: (120 + 30 * 4) * 0.075 = 18
    assert log["quota"] == 18 and log["prompt_tokens"] == 120 and log["completion_tokens"] == 30
    assert log["model_name"] == "gpt-4o-mini" and log["is_stream"] is False


async def test_genai_sdk_stream_on_openai_channel(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.chunks = "One, two, three.", 3
    scenario.prompt_tokens, scenario.completion_tokens = 40, 9
    client = gemini_client(relay, key)
    pieces, usage, finish = [], None, None
    async for chunk in await client.aio.models.generate_content_stream(
        model="gpt-4o-mini", contents="Count to three"
    ):
        if chunk.text:
            pieces.append(chunk.text)
        usage = chunk.usage_metadata or usage
        if chunk.candidates and chunk.candidates[0].finish_reason:
            finish = chunk.candidates[0].finish_reason
    assert "".join(pieces) == "One, two, three." and len(pieces) == 3, pieces
    assert finish == types.FinishReason.STOP
    assert usage is not None and usage.prompt_token_count == 40
    assert usage.candidates_token_count == 9
    assert relay.fake.last.body["stream"] is True
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True and log["completion_tokens"] == 9


async def test_genai_sdk_function_calling_on_openai_channel(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text = ""
    scenario.tool_calls = [
        ToolCall("get_weather", {"city": "Oslo"}),
        ToolCall("get_weather", {"city": "Bergen"}),
    ]
    scenario.finish_reason = "tool_calls"
    client = gemini_client(relay, key)
    config = types.GenerateContentConfig(
        tools=[WEATHER],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    first = await client.aio.models.generate_content(
        model="gpt-4o-mini", contents="Weather in Oslo and Bergen?", config=config
    )
    calls = first.function_calls
    assert [(c.name, c.args) for c in calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Bergen"}),
    ]
    sent_tools = relay.fake.last.body["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"
    assert sent_tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    # The two results go back; the upstream sees two tool messages answering its two call ids.
    scenario.tool_calls, scenario.finish_reason, scenario.text = [], "stop", "Cold in both."
    history = [
        types.Content(role="user", parts=[types.Part(text="Weather in Oslo and Bergen?")]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[
                types.Part.from_function_response(name="get_weather", response={"t": -3}),
                types.Part.from_function_response(name="get_weather", response={"t": 1}),
            ],
        ),
    ]
    second = await client.aio.models.generate_content(
        model="gpt-4o-mini", contents=history, config=config
    )
    assert second.text == "Cold in both."
    messages = relay.fake.last.body["messages"]
    assistant = next(m for m in messages if m["role"] == "assistant")
    ids = [call["id"] for call in assistant["tool_calls"]]
    tools = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ids and len(set(ids)) == 2
    assert orjson.loads(tools[0]["content"]) == {"t": -3}
    assert all("extra_content" not in call for call in assistant["tool_calls"])


async def test_genai_sdk_embeddings_and_count_tokens_on_openai_channel(relay: Relay) -> None:
    await relay.channel(type=1, models="text-embedding-3-small,gpt-4o-mini")
    key = await relay.key()
    client = gemini_client(relay, key)
    one = await client.aio.models.embed_content(
        model="text-embedding-3-small", contents="hello world"
    )
    assert len(one.embeddings) == 1 and len(one.embeddings[0].values) > 0
    assert relay.fake.last.path == "/v1/embeddings"
    many = await client.aio.models.embed_content(
        model="text-embedding-3-small", contents=["a", "b", "c"]
    )
    assert len(many.embeddings) == 3
    assert relay.fake.last.body["input"] == ["a", "b", "c"]
    counted = await client.aio.models.count_tokens(
        model="gpt-4o-mini", contents="The quick brown fox jumps over the lazy dog"
    )
    assert 5 <= counted.total_tokens <= 20
    logs = await relay.logs(2)
    assert {log["model_name"] for log in logs} == {"text-embedding-3-small"}  # counting is free


async def test_genai_sdk_on_anthropic_channel(relay: Relay) -> None:
    model = "claude-sonnet-4-5-20250929"
    await relay.channel(type=14, models=model, key="sk-ant-up")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Bonjour", 10, 4
    client = gemini_client(relay, key)
    reply = await client.aio.models.generate_content(
        model=model,
        contents="hi",
        config=types.GenerateContentConfig(system_instruction="French only"),
    )
    assert reply.text == "Bonjour" and reply.usage_metadata.candidates_token_count == 4
    sent = relay.fake.last
    assert sent.path == "/v1/messages" and sent.body["system"][0]["text"] == "French only"
    pieces = [
        chunk.text
        async for chunk in await client.aio.models.generate_content_stream(
            model=model, contents="hi"
        )
        if chunk.text
    ]
    assert "".join(pieces) == "Bonjour"
    logs = await relay.logs(2)
    assert all(log["quota"] > 0 for log in logs)


async def test_errors_reach_gemini_callers_in_googles_shape(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    bad = gemini_client(relay, "sk-not-a-key")
    with pytest.raises(genai_errors.ClientError) as refused:
        await bad.aio.models.generate_content(model="gpt-4o-mini", contents="hi")
    assert refused.value.code == 401 and refused.value.status == "UNAUTHENTICATED"
    relay.fake.scenario.error = FakeError(status=429, times=None)
    with pytest.raises(genai_errors.ClientError) as limited:
        await gemini_client(relay, key).aio.models.generate_content(
            model="gpt-4o-mini", contents="hi"
        )
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    relay.fake.scenario.error = None
    url = f"{relay.gateway.url}/v1beta/models/gpt-4o-mini"
    async with aiohttp.ClientSession() as http:
        for target, body, status in [
            (":fly", b"{}", 404),
            (":generateContent", b"{not json", 400),
            (":generateContent", b"[]", 400),
        ]:
            async with http.post(
                url + target, data=body, headers={"x-goog-api-key": key}
            ) as response:
                error = (await response.json())["error"]
                assert response.status == status == error["code"], error
                assert error["status"] in ("NOT_FOUND", "INVALID_ARGUMENT") and error["message"]


async def test_key_in_query_and_json_array_stream(relay: Relay) -> None:
    """Google's REST examples: ``?key=``, and streamGenerateContent without ``alt=sse``
    answers one JSON array, element by element."""
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    relay.fake.scenario.text, relay.fake.scenario.chunks = "ab", 2
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    url = f"{relay.gateway.url}/v1beta/models/gpt-4o-mini:streamGenerateContent?key={key}"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        raw = await response.read()
    elements = orjson.loads(raw)
    assert isinstance(elements, list) and raw.startswith(b"[") and b",\r\n" in raw
    text = "".join(
        part.get("text", "")
        for element in elements
        for candidate in element.get("candidates", [])
        for part in candidate["content"]["parts"]
    )
    assert text == "ab"
    assert elements[-1]["usageMetadata"]["totalTokenCount"] > 0


async def test_models_listed_in_gemini_shape(relay: Relay) -> None:
    await relay.channel(type=1, models="gpt-4o-mini,text-embedding-3-small")
    key = await relay.key(model_limits_enabled=True, model_limits="gpt-4o-mini")
    client = gemini_client(relay, key)
    names = [model.name async for model in await client.aio.models.list()]
    assert names == ["models/gpt-4o-mini"]
    got = await client.aio.models.get(model="gpt-4o-mini")
    assert got.name == "models/gpt-4o-mini"
    with pytest.raises(genai_errors.ClientError) as missing:
        await client.aio.models.get(model="text-embedding-3-small")
    assert missing.value.code == 404


async def test_gemini_thinking_budget_reaches_claude_exactly(relay: Relay) -> None:
    model = "claude-sonnet-4-5-20250929"
    await relay.channel(type=14, models=model)
    key = await relay.key()
    relay.fake.scenario.thinking, relay.fake.scenario.text = "Hmm.", "Yes."
    reply = await gemini_client(relay, key).aio.models.generate_content(
        model=model,
        contents="Is water wet?",
        config=types.GenerateContentConfig(
            max_output_tokens=6000,
            thinking_config=types.ThinkingConfig(thinking_budget=3000, include_thoughts=True),
        ),
    )
    sent = relay.fake.last.body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 3000}
    assert sent["max_tokens"] == 6000
    parts = reply.candidates[0].content.parts
    assert [(bool(p.thought), p.text) for p in parts] == [(True, "Hmm."), (False, "Yes.")]
