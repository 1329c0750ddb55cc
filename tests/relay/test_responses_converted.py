"""The Responses API on channels without it (converted through the hub), and chat callers on
models OpenAI serves only through Responses."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from bench.fakes import ToolCall
from tests.relay.conftest import Relay

DEEPSEEK = 43
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


async def test_responses_on_a_chat_only_channel(relay: Relay) -> None:
    await relay.channel(type=DEEPSEEK, models="deepseek-chat")
    # Fixed ratios (the packaged table prices DeepSeek by the hour of day).
    await relay.option("ModelRatio", orjson.dumps({"deepseek-chat": 0.135}).decode())
    await relay.option("CompletionRatio", orjson.dumps({"deepseek-chat": 4}).decode())
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Bonjour", 1000, 200
    reply = await relay.openai(key).responses.create(
        model="deepseek-chat", input="hi", instructions="French only", max_output_tokens=300
    )
    assert reply.object == "response" and reply.status == "completed"
    assert reply.output_text == "Bonjour"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (1000, 200)
    sent = relay.fake.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"][0] == {"role": "system", "content": "French only"}
    assert sent.body["max_tokens"] == 300 and "input" not in sent.body
    (log,) = await relay.logs(1)
    # deepseek-chat: ratio 0.135, completion 4: (1000 + 200 * 4) * 0.135 = 243
    assert (log["quota"], log["prompt_tokens"], log["completion_tokens"]) == (243, 1000, 200)


async def test_responses_stream_with_tool_call_on_a_chat_only_channel(relay: Relay) -> None:
    await relay.channel(type=DEEPSEEK, models="deepseek-chat")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.tool_calls = "Checking.", [ToolCall("get_weather", {"city": "Oslo"})]
    names, final = [], None
    async with relay.openai(key).responses.stream(
        model="deepseek-chat", input="Oslo?", tools=TOOLS
    ) as stream:
        async for event in stream:
            names.append(event.type)
        final = await stream.get_final_response()
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert "response.output_text.delta" in names
    assert "response.function_call_arguments.delta" in names
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.name, orjson.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert final.output_text == "Checking."
    assert relay.fake.last.body["stream"] is True
    assert relay.fake.last.body["tools"][0]["function"]["name"] == "get_weather"
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True and log["completion_tokens"] == scenario.completion_tokens
    # The conversation goes on: the call's output goes back as a tool message.
    scenario.tool_calls, scenario.text = [], "Cold."
    follow = await relay.openai(key).responses.create(
        model="deepseek-chat",
        input=[
            {"role": "user", "content": "Oslo?"},
            {
                "type": "function_call",
                "call_id": calls[0].call_id,
                "name": "get_weather",
                "arguments": calls[0].arguments,
            },
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "-3C"},
        ],
        tools=TOOLS,
    )
    assert follow.output_text == "Cold."
    messages = relay.fake.last.body["messages"]
    assert messages[-1] == {"role": "tool", "tool_call_id": calls[0].call_id, "content": "-3C"}


async def test_responses_on_anthropic_and_gemini_channels(relay: Relay) -> None:
    await relay.channel(type=14, models="claude-sonnet-4-5-20250929")
    await relay.channel(type=24, models="gemini-2.5-flash", key="AIza-k")
    key = await relay.key()
    relay.fake.scenario.text = "Converted"
    for model, path in [
        ("claude-sonnet-4-5-20250929", "/v1/messages"),
        ("gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
    ]:
        text = ""
        async with relay.openai(key).responses.stream(
            model=model, input="hi", instructions="brief", reasoning={"effort": "low"}
        ) as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    text += event.delta
            final = await stream.get_final_response()
        assert text == "Converted" and final.status == "completed", model
        assert relay.fake.last.path == path
    logs = await relay.logs(2)
    assert all(log["quota"] > 0 for log in logs)


async def test_chat_callers_on_a_responses_only_model(relay: Relay) -> None:
    """OpenAI serves the codex models only through /v1/responses: chat and Claude callers are
    converted to it."""
    await relay.channel(models="gpt-5-codex")
    await relay.option("ModelRatio", orjson.dumps({"gpt-5-codex": 0.625}).decode())
    key = await relay.key()
    relay.fake.scenario.text, relay.fake.scenario.completion_tokens = "patched", 20
    reply = await relay.openai(key).chat.completions.create(
        model="gpt-5-codex", messages=[{"role": "user", "content": "fix it"}], max_tokens=100
    )
    assert reply.choices[0].message.content == "patched"
    sent = relay.fake.last
    assert sent.path == "/v1/responses" and sent.body["max_output_tokens"] == 100
    assert reply.usage.completion_tokens == 20
    stream = await relay.openai(key).chat.completions.create(
        model="gpt-5-codex", messages=[{"role": "user", "content": "again"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "patched" and relay.fake.last.path == "/v1/responses"
    client = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    message = await client.messages.create(
        model="gpt-5-codex", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    await client.close()
    assert message.content[0].text == "patched" and relay.fake.last.path == "/v1/responses"
    logs = await relay.logs(3)
    assert all(log["quota"] > 0 for log in logs)


async def test_compaction_is_passed_through_or_refused(relay: Relay) -> None:
    await relay.channel(models="gpt-5.5")
    await relay.channel(type=DEEPSEEK, models="deepseek-chat", key="sk-ds")
    await relay.option("ModelRatio", orjson.dumps({"gpt-5.5": 2.5}).decode())
    key = await relay.key()
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 400, 40
    history = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "second"},
    ]
    compacted = await relay.openai(key).responses.compact(model="gpt-5.5", input=history)
    kinds = [item.type for item in compacted.output]
    assert kinds[-1] == "compaction" and compacted.usage.input_tokens == 400
    assert relay.fake.last.path == "/v1/responses/compact"
    (log,) = await relay.logs(1)
    assert log["prompt_tokens"] == 400 and log["quota"] > 0
    with pytest.raises(openai.BadRequestError) as refused:
        await relay.openai(key).responses.compact(model="deepseek-chat", input=history)
    assert "responses/compact" in refused.value.message
    assert relay.fake.last.path == "/v1/responses/compact"  # DeepSeek was never called
