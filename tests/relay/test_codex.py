"""OpenAI's Codex CLI (``@openai/codex``, headless ``codex exec``) pointed at newapi.

Codex runs with a custom provider on the gateway (``wire_api = "responses"``, see
``tests.support.clients.codex``). The fake answers its first request with a tool call that Codex
runs in its sandbox on a file of the work directory (its ``exec_command`` shell function, or its
freeform ``apply_patch`` custom tool) and, once the next request carries the tool's output, with
the final answer. Each test prices its model through the option API and checks every call's bill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bench.fakes import Scenario, ToolCall
from tests.relay.conftest import Relay
from tests.support.clients import codex, codex_events, ensure_clients

MODEL = "gpt-5.5"  # Codex 0.171's default model
SECRET = "the launch code is 7361"
ANSWER = "notes.txt says the launch code is 7361."
PATCH = "*** Begin Patch\n*** Add File: answer.txt\n+7361\n*** End Patch\n"


async def price(relay: Relay, model: str) -> None:
    """ratio 2.5, completion 8, cache read 0.1."""
    await relay.option("ModelRatio", orjson.dumps({model: 2.5}).decode())
    await relay.option("CompletionRatio", orjson.dumps({model: 8}).decode())
    await relay.option("CacheRatio", orjson.dumps({model: 0.1}).decode())


def tool_outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results a request carries: Responses ``*_call_output`` items, chat ``tool``
    messages."""
    items = [i for i in body.get("input") or [] if str(i.get("type", "")).endswith("_output")]
    return items + [m for m in body.get("messages") or [] if m.get("role") == "tool"]


def script(first: Scenario, last: Scenario) -> Any:
    """A ``fake.script``: ``first`` until a request carries a tool's output, then ``last``."""
    return lambda body: last if tool_outputs(body) else first


def work_dir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text(SECRET + "\n")
    return work


def agent_messages(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["item"]["text"]
        for e in events
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]


def completed(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in events
        if e.get("type") == "item.completed" and e["item"].get("type") == kind
    ]


async def test_codex_runs_a_shell_command_on_an_openai_channel(
    relay: Relay, tmp_path: Path
) -> None:
    bin_dir = ensure_clients()
    await price(relay, MODEL)
    await relay.channel(type=1, models=MODEL, key="sk-oai-up")
    key = await relay.key()
    work_dir(tmp_path)
    first = Scenario(text="", thinking="Read the notes first.", reasoning_tokens=16)
    first.tool_calls = [ToolCall("exec_command", {"cmd": "cat notes.txt"}, id="call_cat_1")]
    first.prompt_tokens, first.cached_tokens, first.completion_tokens = 9000, 8000, 40
    last = Scenario(text=ANSWER, prompt_tokens=9200, cached_tokens=9000, completion_tokens=12)
    relay.fake.script = script(first, last)

    done = await codex(
        bin_dir, tmp_path, relay.gateway.url, key, "What does notes.txt say?", model=MODEL
    )
    assert done.code == 0, done.stderr[-3000:] + done.stdout[-3000:]
    events = codex_events(done.stdout)
    (command,) = completed(events, "command_execution")
    assert "cat notes.txt" in command["command"] and SECRET in command["aggregated_output"]
    assert agent_messages(events)[-1] == ANSWER

    sent = [r for r in relay.fake.requests if r.path == "/v1/responses"]
    assert len(sent) == 2, [r.path for r in relay.fake.requests]
    for request in sent:  # passed through: Codex's own fields reach OpenAI untouched
        body = request.body
        assert request.api_key == "sk-oai-up" and body["model"] == MODEL
        assert body["stream"] is True and body["store"] is False
        assert body["include"] == ["reasoning.encrypted_content"]
        assert body["prompt_cache_key"] and body["reasoning"]["effort"]
        assert body["client_metadata"]["session_id"] == body["prompt_cache_key"]
        kinds = {(t["type"], t.get("name")) for t in body["tools"]}
        assert {("function", "exec_command"), ("custom", "apply_patch")} <= kinds
    assert tool_outputs(sent[0].body) == []
    replay = sent[1].body["input"]
    # Nothing stored upstream (store: false): Codex sends the reasoning item back, encrypted.
    (reasoning,) = [i for i in replay if i["type"] == "reasoning"]
    assert reasoning["encrypted_content"].startswith("gAAAA")
    (call,) = [i for i in replay if i["type"] == "function_call"]
    assert call["call_id"] == "call_cat_1" and call["name"] == "exec_command"
    (output,) = tool_outputs(sent[1].body)
    assert output["call_id"] == "call_cat_1" and SECRET in str(output["output"])

    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (1000 + 8000 x 0.1 + 40 x 8) x 2.5 = 5300; (200 + 9000 x 0.1 + 12 x 8) x 2.5 = 2990
    assert [log["quota"] for log in logs] == [5300, 2990]
    assert [log["prompt_tokens"] for log in logs] == [9000, 9200]
    assert all(log["is_stream"] and log["model_name"] == MODEL for log in logs)


async def test_codex_applies_a_patch_on_a_chat_only_channel(relay: Relay, tmp_path: Path) -> None:
    bin_dir = ensure_clients()
    # Codex offers apply_patch only to models it knows (an unknown name gets fallback metadata
    # and the shell alone): the channel maps Codex's default model onto DeepSeek's.
    await price(relay, MODEL)
    mapping = orjson.dumps({MODEL: "deepseek-chat"}).decode()
    await relay.channel(type=43, models=MODEL, key="sk-ds-up", model_mapping=mapping)
    key = await relay.key()
    work = work_dir(tmp_path)
    first = Scenario(text="I will write the answer file.", thinking="Use apply_patch.")
    first.tool_calls = [ToolCall("apply_patch", {"input": PATCH}, id="call_patch_1")]
    first.prompt_tokens, first.cached_tokens, first.completion_tokens = 7000, 6400, 50
    last = Scenario(text=ANSWER, prompt_tokens=7300, cached_tokens=7000, completion_tokens=12)
    relay.fake.script = script(first, last)

    done = await codex(
        bin_dir, tmp_path, relay.gateway.url, key, "Write 7361 to answer.txt", model=MODEL
    )
    assert done.code == 0, done.stderr[-3000:] + done.stdout[-3000:]
    events = codex_events(done.stdout)
    assert (work / "answer.txt").read_text() == "7361\n"  # Codex ran the converted custom call
    (change,) = completed(events, "file_change")
    assert change["status"] == "completed"
    assert agent_messages(events)[-1] == ANSWER

    sent = [r for r in relay.fake.requests if r.path == "/v1/chat/completions"]
    assert len(sent) == 2, [r.path for r in relay.fake.requests]
    for request in sent:  # converted to chat completions: nothing a chat upstream refuses
        body = request.body
        assert request.api_key == "sk-ds-up" and body["model"] == "deepseek-chat"
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        # Codex's cached web search is no live search upstream (external_web_access false).
        for refused in ("input", "include", "store", "client_metadata", "web_search_options"):
            assert refused not in body, refused
        functions = {t["function"]["name"]: t["function"] for t in body["tools"]}
        assert "exec_command" in functions
        assert functions["apply_patch"]["parameters"]["required"] == ["input"]
        assert {m["role"] for m in body["messages"]} <= {"system", "user", "assistant", "tool"}
    assert tool_outputs(sent[0].body) == []
    turn = next(m for m in sent[1].body["messages"] if m.get("tool_calls"))
    (call,) = turn["tool_calls"]
    assert call["id"] == "call_patch_1" and call["function"]["name"] == "apply_patch"
    assert orjson.loads(call["function"]["arguments"]) == {"input": PATCH}
    (output,) = tool_outputs(sent[1].body)
    assert output["tool_call_id"] == "call_patch_1" and "answer.txt" in output["content"]

    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (600 + 6400 x 0.1 + 50 x 8) x 2.5 = 4100; (300 + 7000 x 0.1 + 12 x 8) x 2.5 = 2740
    assert [log["quota"] for log in logs] == [4100, 2740]
    assert [log["prompt_tokens"] for log in logs] == [7000, 7300]
    assert all(log["is_stream"] and log["model_name"] == MODEL for log in logs)
