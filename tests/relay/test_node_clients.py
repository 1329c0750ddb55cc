"""The openai Node SDK and the Vercel AI SDK (``ai`` + ``@ai-sdk/openai``) against newapi.

Small scripts (``tests/support/node_clients/scripts``) run each SDK's calls: chat plain,
streamed and with a tool round trip, Responses plain and streamed (openai SDK); ``generateText``,
``streamText`` and a tool the SDK executes itself, with ``openai.responses(...)`` and
``openai.chat(...)`` models (AI SDK). Each runs on an OpenAI channel (passed through) and on an
Anthropic channel (converted through the hub). The fake answers a request that offers tools
without carrying a tool result with a ``get_weather`` call, any other with text; every upstream
call is billed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.fakes import Scenario, ToolCall
from tests.relay.conftest import Relay
from tests.support.clients import node_script

TEXT = "Hello from the fake provider!"
FINAL = "It is sunny in Paris."
# (prompt 10 + completion 20 x 5) x 1.5 for every call (the fake's default usage)
QUOTA = 165

CHANNELS = {
    "openai": {"type": 1, "models": "gpt-4o-mini", "key": "sk-oai-up"},
    "anthropic": {"type": 14, "models": "claude-sonnet-4-20250514", "key": "sk-ant-up"},
}


def offers_tools_unanswered(body: dict[str, Any]) -> bool:
    """A request with tools and no tool result yet, in chat, Responses or Claude wire."""
    if not body.get("tools"):
        return False
    items = body.get("input") if isinstance(body.get("input"), list) else []
    if any(str(i.get("type", "")).endswith("_output") for i in items):
        return False
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if message.get("role") == "tool" or any(b.get("type") == "tool_result" for b in blocks):
            return False
    return True


def weather_script() -> Any:
    call = Scenario(text="", chunks=2)
    call.tool_calls = [ToolCall("get_weather", {"city": "Paris"}, id="call_weather_1")]
    final = Scenario(text=FINAL)
    plain = Scenario(text=TEXT)

    def answer(body: dict[str, Any]) -> Scenario:
        if offers_tools_unanswered(body):
            return call
        return final if body.get("tools") else plain

    return answer


async def setup(relay: Relay, channel: str) -> tuple[str, str]:
    """The channel, its model priced (ratio 1.5, completion 5), a key: (model, key)."""
    fields = CHANNELS[channel]
    model = str(fields["models"])
    await relay.option("ModelRatio", orjson.dumps({model: 1.5}).decode())
    await relay.option("CompletionRatio", orjson.dumps({model: 5}).decode())
    await relay.channel(**fields)
    relay.fake.script = weather_script()
    return model, await relay.key()


def upstream_calls(relay: Relay, channel: str) -> list[Any]:
    paths = {"openai": ("/v1/chat/completions", "/v1/responses"), "anthropic": ("/v1/messages",)}
    return [r for r in relay.fake.requests if r.path in paths[channel]]


async def billed(relay: Relay, count: int) -> None:
    logs = await relay.logs(count)
    assert len(logs) == count, [log["model_name"] for log in logs]
    assert [log["quota"] for log in logs] == [QUOTA] * count
    assert all(log["prompt_tokens"] == 10 and log["completion_tokens"] == 20 for log in logs)


@pytest.mark.parametrize("channel", ["openai", "anthropic"])
async def test_openai_node_sdk(relay: Relay, tmp_path: Path, channel: str) -> None:
    model, key = await setup(relay, channel)
    ops = ["chat", "chat_stream", "chat_tools", "responses", "responses_stream"]
    spec = {"model": model, "ops": ops}
    got = await node_script("openai_sdk.mjs", relay.gateway.url, key, spec, tmp_path)

    assert got["chat"]["text"] == TEXT and got["chat"]["usage"]["total_tokens"] == 30
    assert got["chat_stream"]["text"] == TEXT and got["chat_stream"]["pieces"] == 3
    assert got["chat_stream"]["usage"]["completion_tokens"] == 20
    tools = got["chat_tools"]
    assert tools["finish_reason"] == "tool_calls" and tools["text"] == FINAL
    assert tools["call"] == {
        "id": "call_weather_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert got["responses"]["text"] == TEXT and got["responses"]["same"] is True
    assert got["responses"]["status"] == "completed"
    assert got["responses"]["usage"]["input_tokens"] == 10
    events = got["responses_stream"]["events"]
    assert got["responses_stream"]["text"] == TEXT and events[0] == "response.created"
    assert events.count("response.output_text.delta") == 3 and events[-1] == "response.completed"

    sent = upstream_calls(relay, channel)
    assert len(sent) == 6, [r.path for r in relay.fake.requests]
    if channel == "anthropic":  # the tool result went back as a Claude tool_result block
        last_tools = sent[3].body["messages"][-1]["content"]
        assert last_tools[0]["type"] == "tool_result"
        assert last_tools[0]["tool_use_id"] == "call_weather_1"
    else:
        assert [r.path for r in sent][-2:] == ["/v1/responses", "/v1/responses"]
    await billed(relay, 6)


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("channel", ["openai", "anthropic"])
async def test_vercel_ai_sdk(relay: Relay, tmp_path: Path, channel: str, api: str) -> None:
    model, key = await setup(relay, channel)
    spec = {"model": model, "api": api, "ops": ["generate", "stream", "tool"]}
    got = await node_script("ai_sdk.mjs", relay.gateway.url, key, spec, tmp_path)

    assert got["generate"]["text"] == TEXT and got["generate"]["finishReason"] == "stop"
    assert got["generate"]["usage"]["inputTokens"] == 10
    assert got["generate"]["usage"]["outputTokens"] == 20
    assert got["stream"]["text"] == TEXT and got["stream"]["pieces"] == 3
    assert got["stream"]["usage"]["outputTokens"] == 20
    assert got["tool"] == {"text": FINAL, "steps": 2, "executed": ["Paris"]}

    sent = upstream_calls(relay, channel)
    assert len(sent) == 4, [r.path for r in relay.fake.requests]
    if channel == "openai":  # passed through on the API the model was made for
        path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
        assert {r.path for r in sent} == {path}
        if api == "responses":
            (output,) = [
                i for i in sent[-1].body["input"] if i.get("type") == "function_call_output"
            ]
            assert output["call_id"] == "call_weather_1" and "sunny" in output["output"]
    else:
        (result,) = [
            b for b in sent[-1].body["messages"][-1]["content"] if b["type"] == "tool_result"
        ]
        assert result["tool_use_id"] == "call_weather_1"
    await billed(relay, 4)
