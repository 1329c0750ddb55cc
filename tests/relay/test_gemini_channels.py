"""Gemini channels (type 24): Gemini callers passed through, OpenAI and Anthropic callers
converted through the hub; usage from usageMetadata billed exactly."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest
from google.genai import errors as genai_errors
from google.genai import types
from openai import AsyncOpenAI

from bench.fakes import FakeError, ToolCall
from bench.fakes.gemini import THOUGHT_SIGNATURE
from tests.relay.conftest import Relay, poll
from tests.relay.test_gemini_callers import WEATHER, gemini_client

FLASH = "gemini-2.5-flash"
PRO3 = "gemini-3-pro-preview"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


async def gemini_channel(relay: Relay, models: str = FLASH) -> None:
    await relay.channel(type=24, models=models, key="AIza-channel-key")


def usage_scenario(relay: Relay) -> None:
    scenario = relay.fake.scenario
    scenario.prompt_tokens, scenario.cached_tokens = 1000, 400
    scenario.completion_tokens, scenario.reasoning_tokens = 50, 30


# gemini-2.5-flash: ratio 0.15, completion 8.333, cache 0.1:
# (600 uncached + 400 * 0.1 + (50 + 30 thoughts) * 8.333) * 0.15 = 195.996 -> 196
FLASH_QUOTA = 196


async def test_genai_sdk_passes_through_and_bills_usage_metadata(relay: Relay) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    usage_scenario(relay)
    relay.fake.scenario.text = "Native answer"
    client = gemini_client(relay, key)
    config = types.GenerateContentConfig(
        system_instruction="Be brief.",
        safety_settings=[
            types.SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_ONLY_HIGH")
        ],
    )
    reply = await client.aio.models.generate_content(model=FLASH, contents="hi", config=config)
    assert reply.text == "Native answer"
    assert reply.usage_metadata.cached_content_token_count == 400
    assert reply.usage_metadata.thoughts_token_count == 30
    sent = relay.fake.last
    assert sent.path == f"/v1beta/models/{FLASH}:generateContent"
    assert sent.headers["x-goog-api-key"] == "AIza-channel-key" and "key" not in sent.query
    # Untouched: the caller's own safety settings and system instruction, no "model" field.
    assert sent.body["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert "model" not in sent.body
    (log,) = await relay.logs(1)
    assert log["quota"] == FLASH_QUOTA
    assert log["prompt_tokens"] == 1000 and log["completion_tokens"] == 80


async def test_genai_sdk_stream_passes_events_through(relay: Relay) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    usage_scenario(relay)
    relay.fake.scenario.text, relay.fake.scenario.chunks = "abcdef", 3
    client = gemini_client(relay, key)
    pieces, last = [], None
    async for chunk in await client.aio.models.generate_content_stream(model=FLASH, contents="x"):
        pieces.append(chunk.text or "")
        last = chunk
    assert "".join(pieces) == "abcdef" and len([p for p in pieces if p]) == 3
    assert last is not None and last.usage_metadata.thoughts_token_count == 30
    sent = relay.fake.last
    assert sent.path == f"/v1beta/models/{FLASH}:streamGenerateContent"
    assert sent.query["alt"] == "sse"
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True and log["quota"] == FLASH_QUOTA


async def test_openai_sdk_on_gemini_channel_with_parallel_calls_and_signatures(
    relay: Relay,
) -> None:
    """Gemini 3 refuses a history whose function calls lost their thought signature: the
    signature travels to the OpenAI caller in ``extra_content`` and back (Google's own
    OpenAI-compatible convention)."""
    await gemini_channel(relay, PRO3)
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text = ""
    scenario.tool_calls = [
        ToolCall("get_weather", {"city": "Oslo"}),
        ToolCall("get_weather", {"city": "Rome"}),
    ]
    client = relay.openai(key)
    question = {"role": "user", "content": "Weather in Oslo and Rome?"}
    first = await client.chat.completions.create(
        model=PRO3, messages=[question], tools=[WEATHER_TOOL], reasoning_effort="low"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [orjson.loads(c.function.arguments) for c in calls] == [
        {"city": "Oslo"},
        {"city": "Rome"},
    ]
    extra = calls[0].model_extra["extra_content"]
    assert extra == {"google": {"thought_signature": THOUGHT_SIGNATURE}}
    sent = relay.fake.last.body
    declared = sent["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    assert "additionalProperties" not in declared["parameters"]
    assert sent["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "low"
    # The results go back with the assistant turn as the SDK returned it.
    scenario.tool_calls, scenario.text = [], "Oslo 2°C, Rome 18°C."
    history = [
        question,
        choice.message.model_dump(exclude_none=True),
        *(
            {"role": "tool", "tool_call_id": call.id, "content": f'{{"c": {n}}}'}
            for n, call in enumerate(calls)
        ),
    ]
    second = await client.chat.completions.create(
        model=PRO3, messages=history, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "Oslo 2°C, Rome 18°C."
    contents = relay.fake.last.body["contents"]
    model_turn = next(c for c in contents if c["role"] == "model")
    assert model_turn["parts"][0]["thoughtSignature"] == THOUGHT_SIGNATURE
    answers = [
        p["functionResponse"] for c in contents for p in c["parts"] if "functionResponse" in p
    ]
    assert [a["name"] for a in answers] == ["get_weather", "get_weather"]
    assert [a["response"] for a in answers] == [{"c": 0}, {"c": 1}]


async def test_openai_sdk_stream_on_gemini_channel_with_thinking_suffix(relay: Relay) -> None:
    await gemini_channel(relay, f"{FLASH}-thinking-2048")
    key = await relay.key()
    usage_scenario(relay)
    relay.fake.scenario.thinking, relay.fake.scenario.text = "Let me think.", "Done."
    stream = await relay.openai(key).chat.completions.create(
        model=f"{FLASH}-thinking-2048",
        messages=[{"role": "user", "content": "think"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, reasoning, usage = "", "", None
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
    assert text == "Done." and reasoning == "Let me think."
    assert usage is not None and usage.prompt_tokens == 1000 and usage.completion_tokens == 80
    assert usage.prompt_tokens_details.cached_tokens == 400
    assert usage.completion_tokens_details.reasoning_tokens == 30
    sent = relay.fake.last
    assert sent.path == f"/v1beta/models/{FLASH}:streamGenerateContent"
    assert sent.body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 2048,
        "includeThoughts": True,
    }
    (log,) = await relay.logs(1)
    # priced as the base model (no ratio of its own for the suffixed name)
    assert log["quota"] == FLASH_QUOTA and log["model_name"] == f"{FLASH}-thinking-2048"


async def test_anthropic_sdk_on_gemini_channel_with_tool_use(relay: Relay) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.text = "Checking."
    relay.fake.scenario.tool_calls = [ToolCall("get_weather", {"city": "Paris"})]
    client = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    tools = [
        {
            "name": "get_weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    message = await client.messages.create(
        model=FLASH,
        max_tokens=200,
        system="You are a weather bot.",
        tools=tools,
        messages=[{"role": "user", "content": "Paris?"}],
    )
    assert message.stop_reason == "tool_use"
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "Paris"}
    sent = relay.fake.last.body
    assert sent["systemInstruction"]["parts"][0]["text"] == "You are a weather bot."
    assert sent["generationConfig"]["maxOutputTokens"] == 200
    relay.fake.scenario.tool_calls, relay.fake.scenario.text = [], "Sunny."
    followup = [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": [b.model_dump() for b in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    text = ""
    async with client.messages.stream(
        model=FLASH, max_tokens=200, tools=tools, messages=followup
    ) as stream:
        async for delta in stream.text_stream:
            text += delta
        final = await stream.get_final_message()
    assert text == "Sunny." and final.stop_reason == "end_turn"
    answer = relay.fake.last.body["contents"][-1]["parts"][0]["functionResponse"]
    assert answer["name"] == "get_weather"
    await client.close()
    logs = await relay.logs(2)
    assert all(log["quota"] > 0 for log in logs)


async def test_openai_embeddings_on_gemini_channel(relay: Relay) -> None:
    await gemini_channel(relay, "gemini-embedding-001")
    key = await relay.key()
    reply = await relay.openai(key).embeddings.create(
        model="gemini-embedding-001", input=["one", "two"], dimensions=16
    )
    assert [len(item.embedding) for item in reply.data] == [16, 16]
    assert [item.index for item in reply.data] == [0, 1]
    sent = relay.fake.last
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert [r["content"]["parts"][0]["text"] for r in sent.body["requests"]] == ["one", "two"]
    assert sent.body["requests"][0]["outputDimensionality"] == 16
    native = await gemini_client(relay, key).aio.models.embed_content(
        model="gemini-embedding-001", contents="solo"
    )
    assert len(native.embeddings) == 1
    (first, second) = await relay.logs(2)
    assert first["quota"] > 0 and second["quota"] > 0


async def test_gemini_errors_keep_googles_shape_and_fail_over(relay: Relay) -> None:
    await relay.option("RetryTimes", 1)
    await relay.option("AutomaticDisableChannelEnabled", True)
    bad = await relay.channel(type=24, models=FLASH, key="AIza-fail-403", priority=10)
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.text = "from the second channel"
    reply = await gemini_client(relay, key).aio.models.generate_content(model=FLASH, contents="x")
    assert reply.text == "from the second channel"
    # A Gemini 403 (PERMISSION_DENIED) does not heal: the channel is switched off (new-api).
    listed = await poll(
        lambda: relay.root.get(f"/api/channel/{bad}"), lambda reply: reply.data["status"] == 3
    )
    assert listed.data["status"] == 3, listed.data
    relay.fake.scenario.error = FakeError(status=400, message="Invalid JSON payload received.")
    with pytest.raises(genai_errors.ClientError) as refused:
        await gemini_client(relay, key).aio.models.generate_content(model=FLASH, contents="x")
    assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
    assert "Invalid JSON payload" in refused.value.message
    assert "AIza" not in refused.value.message


async def test_broken_gemini_stream_ends_with_an_error_event(relay: Relay) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.text, relay.fake.scenario.chunks = "abcdefgh", 4
    relay.fake.scenario.disconnect_after = 2
    client = gemini_client(relay, key)
    seen = ""
    with pytest.raises(genai_errors.APIError) as broken:
        async for chunk in await client.aio.models.generate_content_stream(
            model=FLASH, contents="x"
        ):
            seen += chunk.text or ""
    assert seen == "abcd" and broken.value.code == 502
    (log,) = await relay.logs(1)
    other = orjson.loads(log["other"])
    assert other["stream_status"]["status"] == "error" and log["quota"] > 0


async def test_claude_thinking_budget_reaches_gemini_exactly(relay: Relay) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.thinking, relay.fake.scenario.text = "Pondering.", "42"
    client = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    message = await client.messages.create(
        model=FLASH,
        max_tokens=8000,
        thinking={"type": "enabled", "budget_tokens": 5000},
        messages=[{"role": "user", "content": "6*7?"}],
    )
    await client.close()
    assert relay.fake.last.body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 5000,
        "includeThoughts": True,
    }
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "text"], kinds
    assert message.content[0].thinking == "Pondering." and message.content[1].text == "42"


async def test_googles_openai_compatible_paths(relay: Relay) -> None:
    """Users of Google's OpenAI-compatible endpoint change only the host."""
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.text = "compat"
    async with AsyncOpenAI(
        base_url=relay.gateway.url + "/v1beta/openai/", api_key=key, max_retries=0
    ) as client:
        reply = await client.chat.completions.create(
            model=FLASH, messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "compat"
        assert [m.id async for m in client.models.list()] == [FLASH]
        with pytest.raises(openai.APIStatusError) as refused:  # OpenAI's error shape here
            await client.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
        assert refused.value.status_code == 503 and refused.value.code == "model_not_found"
    assert relay.fake.last.path == f"/v1beta/models/{FLASH}:generateContent"


async def test_genai_sdk_function_calling_and_count_on_gemini_3(relay: Relay) -> None:
    await gemini_channel(relay, PRO3)
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.tool_calls = "", [ToolCall("get_weather", {"city": "Lima"})]
    client = gemini_client(relay, key)
    config = types.GenerateContentConfig(
        tools=[WEATHER],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(role="user", parts=[types.Part(text="Lima?")])
    first = await client.aio.models.generate_content(model=PRO3, contents=[question], config=config)
    (call,) = first.function_calls
    assert call.name == "get_weather" and call.args == {"city": "Lima"}
    scenario.tool_calls, scenario.text = [], "Warm."
    answer = types.Content(
        role="user",
        parts=[types.Part.from_function_response(name="get_weather", response={"t": 25})],
    )
    second = await client.aio.models.generate_content(
        model=PRO3, contents=[question, first.candidates[0].content, answer], config=config
    )
    assert second.text == "Warm."  # the fake refuses a Gemini 3 history without the signature
    replayed = relay.fake.last.body["contents"][1]["parts"][0]
    assert replayed["thoughtSignature"] == THOUGHT_SIGNATURE
    counted = await client.aio.models.count_tokens(model=PRO3, contents="one two three four")
    assert 3 <= counted.total_tokens <= 10
    assert relay.fake.last.path.endswith(":generateContent")  # counting never reached upstream


async def test_in_stream_gemini_error_reaches_the_caller_and_bills_what_was_sent(
    relay: Relay,
) -> None:
    await gemini_channel(relay)
    key = await relay.key()
    relay.fake.scenario.text, relay.fake.scenario.chunks = "abcdefgh", 4
    relay.fake.scenario.error = FakeError(status=500, after_chunks=2)
    seen = ""
    with pytest.raises(genai_errors.APIError) as broken:
        async for chunk in await gemini_client(relay, key).aio.models.generate_content_stream(
            model=FLASH, contents="x"
        ):
            seen += chunk.text or ""
    assert seen == "abcd" and broken.value.code == 502
    assert "the upstream failed" in broken.value.message
    (log,) = await relay.logs(1)
    status = orjson.loads(log["other"])["stream_status"]
    assert status["status"] == "error" and status["end_reason"] == "upstream_error"
