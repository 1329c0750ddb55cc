"""Claude Code (``@anthropic-ai/claude-code``, headless ``claude -p``) pointed at newapi.

Claude Code runs with its own default model, so each test prices that model through the option
API. The fake answers its first request with a ``Read`` tool call on a file in the work
directory and, once the next request carries the tool result, with the final answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bench.fakes import Scenario, ToolCall
from tests.relay.conftest import Relay
from tests.support.clients import claude_code, ensure_clients

MODEL = "claude-opus-5-5"  # Claude Code 2.1.337's default model
SECRET = "the launch code is 7361"
ANSWER = "The file says the launch code is 7361."


async def price_model(relay: Relay) -> None:
    """ratio 2.5, completion 5, cache read 0.1, cache write 1.25 (1 hour: 2)."""
    await relay.option("ModelRatio", orjson.dumps({MODEL: 2.5}).decode())
    await relay.option("CompletionRatio", orjson.dumps({MODEL: 5}).decode())
    await relay.option("CacheRatio", orjson.dumps({MODEL: 0.1}).decode())
    await relay.option("CreateCacheRatio", orjson.dumps({MODEL: 1.25}).decode())


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of a Claude request (Anthropic wire)."""
    return [
        block
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [])


def answered(body: dict[str, Any]) -> bool:
    """Whether a request carries a tool's result, in any wire format: Claude's ``tool_result``,
    OpenAI's ``tool`` message, Gemini's ``functionResponse`` part."""
    if tool_results(body) or any(m.get("role") == "tool" for m in body.get("messages", [])):
        return True
    parts = [part for turn in body.get("contents", []) for part in turn.get("parts", [])]
    return any("functionResponse" in part for part in parts)


def script_read_then_answer(path: Path, first: Scenario, last: Scenario) -> Any:
    """A ``fake.script``: ``first`` (a Read tool call) until a tool result is in the request,
    then ``last``."""
    first.tool_calls = [ToolCall("Read", {"file_path": str(path)}, id="toolu_read_1")]
    return lambda body: last if answered(body) else first


def written_secret(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    path = work / "notes.txt"
    path.write_text(SECRET + "\n")
    return path


async def test_claude_code_on_anthropic_channel_passes_through(
    relay: Relay, tmp_path: Path
) -> None:
    bin_dir = ensure_clients()
    await price_model(relay)
    await relay.channel(type=14, models=MODEL, key="sk-ant-up")
    key = await relay.key()
    path = written_secret(tmp_path)
    first = Scenario(text="Let me read it.", thinking="The user wants the file.", chunks=2)
    first.prompt_tokens, first.completion_tokens = 100, 30
    first.cache_creation_tokens, first.cache_read_tokens = 400, 2000
    last = Scenario(text=ANSWER, thinking="It says 7361.", prompt_tokens=60, completion_tokens=12)
    last.cache_read_tokens = 2500
    relay.fake.script = script_read_then_answer(path, first, last)

    done = await claude_code(
        bin_dir,
        tmp_path,
        relay.gateway.url,
        key,
        "What does notes.txt say?",
        allowed_tools=("Read",),
    )
    assert done.code == 0, done.stderr[-3000:] + done.stdout[-3000:]
    answer = orjson.loads(done.stdout)
    assert answer["result"].strip() == ANSWER and answer["is_error"] is False, done.stdout

    sent = [r for r in relay.fake.requests if r.path == "/v1/messages"]
    assert len(sent) == 2, [(r.path, r.query) for r in relay.fake.requests]
    for request in sent:  # passed through untouched: query, betas, metadata, cache_control
        assert request.query == {"beta": "true"} and request.api_key == "sk-ant-up"
        assert "claude-code-20250219" in request.headers["anthropic-beta"]
        assert request.body["model"] == MODEL and request.body["stream"] is True
        assert orjson.loads(request.body["metadata"]["user_id"])["session_id"]
        assert request.body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert "context_management" in request.body and "thinking" in request.body
    assert tool_results(sent[0].body) == []
    (result,) = tool_results(sent[1].body)
    assert result["tool_use_id"] == "toolu_read_1" and SECRET in result_text(result)
    # The thinking block went back with its signature (the stream's signature_delta).
    turn = next(m for m in sent[1].body["messages"] if m["role"] == "assistant")
    assert [b["type"] for b in turn["content"]][-1] == "tool_use"
    signed = [b for b in turn["content"] if b["type"] == "thinking"]
    assert signed and all(b["signature"] for b in signed)

    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (100 + 2000 x 0.1 + 400 x 1.25 + 30 x 5) x 2.5 = 2375; (60 + 2500 x 0.1 + 12 x 5) x 2.5 = 925
    assert [log["quota"] for log in logs] == [2375, 925]
    assert [log["prompt_tokens"] for log in logs] == [2500, 2560]
    assert all(log["is_stream"] and log["model_name"] == MODEL for log in logs)
    other = orjson.loads(logs[0]["other"])
    assert other["cache_tokens"] == 2000 and other["cache_creation_tokens"] == 400


async def test_claude_code_on_openai_channel_is_converted(relay: Relay, tmp_path: Path) -> None:
    bin_dir = ensure_clients()
    await price_model(relay)
    mapping = orjson.dumps({MODEL: "gpt-5"}).decode()
    await relay.channel(type=1, models=MODEL, key="sk-oai-up", model_mapping=mapping)
    key = await relay.key()
    path = written_secret(tmp_path)
    first = Scenario(text="", thinking="I should read the file.", chunks=2)
    first.prompt_tokens, first.cached_tokens, first.completion_tokens = 3000, 2500, 40
    last = Scenario(text=ANSWER, prompt_tokens=3200, cached_tokens=3000, completion_tokens=12)
    relay.fake.script = script_read_then_answer(path, first, last)

    done = await claude_code(
        bin_dir,
        tmp_path,
        relay.gateway.url,
        key,
        "What does notes.txt say?",
        allowed_tools=("Read",),
    )
    assert done.code == 0, done.stderr[-3000:] + done.stdout[-3000:]
    answer = orjson.loads(done.stdout)
    assert answer["result"].strip() == ANSWER and answer["is_error"] is False, done.stdout
    # OpenAI's cached_tokens came back to Claude Code as cache reads (both turns summed).
    assert answer["usage"]["cache_read_input_tokens"] == 5500, answer["usage"]
    assert answer["usage"]["input_tokens"] == 700, answer["usage"]

    sent = [r for r in relay.fake.requests if r.path == "/v1/chat/completions"]
    assert len(sent) == 2, [r.path for r in relay.fake.requests]
    for request in sent:  # converted: nothing OpenAI refuses
        body = request.body
        assert body["model"] == "gpt-5" and body["stream"] is True
        assert body["reasoning_effort"] in ("low", "medium", "high")
        # gpt-5 refuses max_tokens: Claude's max_tokens goes as max_completion_tokens.
        assert body["max_completion_tokens"] > 0 and "max_tokens" not in body
        for refused in ("context_management", "output_config", "thinking", "metadata", "system"):
            assert refused not in body
        assert "cache_control" not in request.raw.decode()
        assert all(m["role"] in ("system", "user", "assistant", "tool") for m in body["messages"])
        names = [tool["function"]["name"] for tool in body["tools"]]
        assert "Read" in names and "DeferredToolPlaceholder" not in names
    assert not any(m["role"] == "tool" for m in sent[0].body["messages"])
    (result,) = [m for m in sent[1].body["messages"] if m["role"] == "tool"]
    assert result["tool_call_id"] == "toolu_read_1" and SECRET in result["content"]

    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (500 + 2500 x 0.1 + 40 x 5) x 2.5 = 2375; (200 + 3000 x 0.1 + 12 x 5) x 2.5 = 1400
    assert [log["quota"] for log in logs] == [2375, 1400]
    assert [log["prompt_tokens"] for log in logs] == [3000, 3200]


async def test_claude_code_on_gemini_channel_is_converted(relay: Relay, tmp_path: Path) -> None:
    bin_dir = ensure_clients()
    await price_model(relay)
    mapping = orjson.dumps({MODEL: "gemini-2.5-flash"}).decode()
    await relay.channel(type=24, models=MODEL, key="AIza-up", model_mapping=mapping)
    key = await relay.key()
    path = written_secret(tmp_path)
    first = Scenario(text="Reading.", thinking="Read the file first.", chunks=2)
    first.prompt_tokens, first.cached_tokens, first.completion_tokens = 3000, 2000, 40
    last = Scenario(text=ANSWER, prompt_tokens=3100, completion_tokens=12)
    relay.fake.script = script_read_then_answer(path, first, last)

    done = await claude_code(
        bin_dir,
        tmp_path,
        relay.gateway.url,
        key,
        "What does notes.txt say?",
        allowed_tools=("Read",),
    )
    assert done.code == 0, done.stderr[-3000:] + done.stdout[-3000:]
    answer = orjson.loads(done.stdout)
    assert answer["result"].strip() == ANSWER and answer["is_error"] is False, done.stdout
    assert answer["usage"]["cache_read_input_tokens"] == 2000, answer["usage"]

    sent = [r for r in relay.fake.requests if r.path.endswith(":streamGenerateContent")]
    assert len(sent) == 2, [r.path for r in relay.fake.requests]
    assert all("gemini-2.5-flash" in r.path and r.api_key == "AIza-up" for r in sent)
    (response,) = [
        part["functionResponse"]
        for turn in sent[1].body["contents"]
        for part in turn["parts"]
        if "functionResponse" in part
    ]
    assert response["name"] == "Read" and SECRET in orjson.dumps(response["response"]).decode()
    # Claude Code's mid-conversation system turn joined the system instruction.
    instruction = " ".join(p["text"] for p in sent[0].body["systemInstruction"]["parts"])
    assert "# Environment" in instruction

    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (1000 + 2000 x 0.1 + 40 x 5) x 2.5 = 3500; (3100 + 12 x 5) x 2.5 = 7900
    assert [log["quota"] for log in logs] == [3500, 7900]
