"""Claude -> OpenAI: /v1/messages requests to chat, Claude answers and streams to chat shapes.

Expected values are written out by hand. Besides the exact goldens, every produced body is
checked against the official SDKs' types, and each converted stream, accumulated by the OpenAI
SDK, must say what the non-stream conversion of the same message says.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter

from newapi.protocol.convert import (
    ClaudeStreamToChat,
    StreamError,
    claude_response_to_chat,
    messages_request_to_chat,
)

GOLDEN = Path(__file__).parent / "golden"
CLAUDE_STREAMS = sorted(path.stem for path in GOLDEN.glob("claude_stream_*.json"))
CHAT_PARAMS = TypeAdapter(CompletionCreateParamsNonStreaming)


def _consume(value: Any) -> None:
    """Walk a validated SDK TypedDict; pydantic checks ``Iterable`` fields only when iterated."""
    if isinstance(value, dict):
        for item in value.values():
            _consume(item)
    elif isinstance(value, list | tuple | Iterator):
        for item in value:
            _consume(item)


def assert_valid_chat_request(request: dict[str, Any]) -> None:
    body = {key: value for key, value in request.items() if key not in ("stream", "stream_options")}
    _consume(CHAT_PARAMS.validate_python(body))


def convert(body: dict[str, Any], **options: Any) -> dict[str, Any]:
    request = messages_request_to_chat(body, upstream_model="gpt-4o", **options)
    assert_valid_chat_request(request)
    return request


# ---------------------------------------------------------------- messages_request_to_chat


def test_request_multi_turn_with_tools_images_and_system_blocks() -> None:
    body = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 1024,
        "system": [
            {
                "type": "text",
                "text": "You are a weather bot.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": "Answer in French."},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this photo was taken?"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/jpeg",
                            "data": "/9j/4AAQ",
                        },
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://e.x/paris.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Paris, so...", "signature": "EqQB"},
                    {"type": "text", "text": "Let me look."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A",
                        "name": "get_weather",
                        "input": {"city": "Paris", "unit": "°C"},
                    },
                    {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18°C, sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B",
                        "content": [
                            {"type": "text", "text": "14:05"},
                            {"type": "text", "text": "CEST"},
                        ],
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
    }
    assert convert(body) == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a weather bot.\nAnswer in French."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this photo was taken?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "image_url", "image_url": {"url": "https://e.x/paris.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "toolu_01A",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city":"Paris","unit":"°C"}',
                        },
                    },
                    {
                        "id": "toolu_01B",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    },
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "toolu_01A",
                "name": "get_weather",
                "content": "18°C, sunny",
            },
            {
                "role": "tool",
                "tool_call_id": "toolu_01B",
                "name": "get_time",
                "content": "14:05\nCEST",
            },
            {"role": "user", "content": "And tomorrow?"},
        ],
        "max_tokens": 1024,
    }


def test_request_tool_result_shapes() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVB"},
    }
    body = {
        "messages": [
            {"role": "user", "content": "screenshot please"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [image]},
                    {"type": "tool_result", "tool_use_id": "unknown", "is_error": True},
                ],
            },
        ]
    }
    messages = convert(body)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}
        ],
    }
    assert messages[2:] == [
        {
            "role": "tool",
            "tool_call_id": "t1",
            "name": "shot",
            "content": '[{"type":"image","source":{"type":"base64","media_type":"image/png",'
            '"data":"iVB"}}]',
        },
        {"role": "tool", "tool_call_id": "unknown", "content": ""},
    ]
    assert json.loads(messages[2]["content"]) == [image]


def test_request_string_system_documents_and_dropped_blocks() -> None:
    body = {
        "system": "Be terse.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBE",
                        },
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                    },
                    {"type": "text", "text": ""},
                    {"type": "search_result", "source": "x", "title": "t", "content": []},
                ],
            },
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "abc"}]},
            {"role": "assistant", "content": "Prefill"},
        ],
    }
    assert convert(body)["messages"] == [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {
                    "type": "file",
                    "file": {
                        "filename": "document.pdf",
                        "file_data": "data:application/pdf;base64,JVBE",
                    },
                },
                {"type": "text", "text": "notes"},
            ],
        },
        {"role": "assistant", "content": "Prefill"},
    ]


def test_request_sampling_stop_stream_and_dropped_fields() -> None:
    body = {
        "model": "claude-3-5-haiku",
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:", ""],
        "metadata": {"user_id": "u-1"},
        "service_tier": "auto",
        "stream": True,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert convert(body) == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": ["\n\nHuman:"],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert "stream_options" not in convert(body, include_usage=False)
    assert convert(body, include_usage=False)["stream"] is True
    assert "stream" not in convert({**body, "stream": False})


def test_request_tools_drop_server_tools() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "custom", "name": "noop"},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
            {"type": "bash_20250124", "name": "bash"},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    }
    request = convert(body)
    assert request["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {
            "type": "function",
            "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    assert request["tool_choice"] == "required"
    assert request["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
    ],
)
def test_request_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": choice,
    }
    request = convert(body)
    assert request["tool_choice"] == expected
    assert "parallel_tool_calls" not in request


def test_request_tool_choice_without_tools_is_dropped() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "tool_choice": {"type": "any"}}
    assert convert(body) == {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 1280}, "low"),
        ({"type": "enabled", "budget_tokens": 1281}, "medium"),
        ({"type": "enabled", "budget_tokens": 2048}, "medium"),
        ({"type": "enabled", "budget_tokens": 2049}, "high"),
        ({"type": "enabled", "budget_tokens": 32000}, "high"),
        ({"type": "adaptive"}, "high"),
        ({"type": "disabled"}, None),
        ({"type": "enabled"}, None),
    ],
)
def test_request_thinking_budget_to_reasoning_effort(
    thinking: dict[str, Any], effort: str | None
) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "thinking": thinking}
    assert convert(body).get("reasoning_effort") == effort


def test_request_input_is_not_mutated() -> None:
    body = {
        "system": [{"type": "text", "text": "S"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "a", "content": "ok"}],
            },
        ],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    }
    before = copy.deepcopy(body)
    convert(body)
    assert body == before


# ---------------------------------------------------------------- claude_response_to_chat


def test_response_text_thinking_tool_use_and_cache_usage() -> None:
    message = {
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [
            {"type": "thinking", "thinking": "User wants weather.", "signature": "EqQB"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "Checking "},
            {"type": "text", "text": "now."},
            {
                "type": "tool_use",
                "id": "toolu_01T1",
                "name": "get_weather",
                "input": {"location": "Zürich", "days": [1, 2]},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 2000,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 100},
            "output_tokens": 60,
            "service_tier": "standard",
        },
    }
    chat = claude_response_to_chat(message, model="claude-sonnet-4", created=1700000000)
    assert chat == {
        "id": "msg_01Aq9w938a90dw8q",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-sonnet-4",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking now.",
                    "reasoning_content": "User wants weather.",
                    "tool_calls": [
                        {
                            "id": "toolu_01T1",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"location":"Zürich","days":[1,2]}',
                            },
                        }
                    ],
                },
                "finish_reason": "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 2400,
            "completion_tokens": 60,
            "total_tokens": 2460,
            "prompt_tokens_details": {
                "cached_tokens": 2000,
                "audio_tokens": 0,
                "cache_write_tokens": 300,
            },
        },
    }
    ChatCompletion.model_validate(chat)


def test_response_tool_use_only_has_null_content() -> None:
    message = {
        "id": "msg_1",
        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    chat = claude_response_to_chat(message, model="m", created=1)
    assert chat["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    assert chat["usage"] == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    ChatCompletion.model_validate(chat)


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        (None, "stop"),
    ],
)
def test_response_stop_reasons(stop_reason: str | None, finish_reason: str) -> None:
    message = {"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason}
    chat = claude_response_to_chat(message, model="m", created=1)
    assert chat["choices"][0]["finish_reason"] == finish_reason
    assert chat["choices"][0]["message"] == {"role": "assistant", "content": "x"}
    assert chat["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


# ---------------------------------------------------------------- ClaudeStreamToChat


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _run(case: dict[str, Any]) -> tuple[ClaudeStreamToChat, list[dict[str, Any]]]:
    """Feed the golden's steps, asserting each step's exact output; returns all chunks."""
    stream = ClaudeStreamToChat(
        model=case["model"], include_usage=case["include_usage"], created=case["created"]
    )
    produced: list[dict[str, Any]] = []
    for number, step in enumerate(case["steps"]):
        if "raises" in step:
            with pytest.raises(StreamError) as caught:
                stream.feed(step["feed"])
            assert (caught.value.type, caught.value.message) == (
                step["raises"]["type"],
                step["raises"]["message"],
            )
            continue
        out = stream.finish() if step.get("finish") else stream.feed(step["feed"])
        assert out == step["out"], f"step {number}"
        produced += out
    return stream, produced


@pytest.mark.parametrize("name", CLAUDE_STREAMS)
def test_claude_stream_golden(name: str) -> None:
    case = _golden(name)
    stream, chunks = _run(case)
    usage = stream.usage
    assert {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    } == case["usage"]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)


@pytest.mark.parametrize("name", [n for n in CLAUDE_STREAMS if not n.endswith("_error")])
def test_claude_stream_agrees_with_non_stream_conversion(name: str) -> None:
    """OpenAI's SDK, accumulating our chunks, sees what the non-stream conversion gives."""
    case = _golden(name)
    _, chunks = _run(case)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    streamed = state.current_completion_snapshot.choices[0]

    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for step in case["steps"]:
        if "feed" in step:
            snapshot = accumulate_event(
                event=step["feed"], current_snapshot=snapshot, json_bufs=json_bufs
            )
    assert snapshot is not None
    expected = claude_response_to_chat(snapshot.to_dict(), model=case["model"])["choices"][0]

    assert streamed.finish_reason == expected["finish_reason"]
    message = streamed.message
    assert message.content == expected["message"]["content"]
    assert getattr(message, "reasoning_content", None) == expected["message"].get(
        "reasoning_content"
    )
    calls = [
        (call.id, call.function.name, json.loads(call.function.arguments))
        for call in message.tool_calls or []
    ]
    assert calls == [
        (call["id"], call["function"]["name"], json.loads(call["function"]["arguments"]))
        for call in expected["message"].get("tool_calls", [])
    ]


def test_claude_stream_usage_before_any_event_is_empty() -> None:
    stream = ClaudeStreamToChat(model="m", include_usage=True, created=5)
    assert stream.usage.is_empty
    assert stream.finish() == [
        {
            "id": "",
            "object": "chat.completion.chunk",
            "created": 5,
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
    ]


def test_claude_stream_error_event_without_details() -> None:
    stream = ClaudeStreamToChat(model="m", include_usage=False, created=5)
    with pytest.raises(StreamError) as caught:
        stream.feed({"type": "error"})
    assert (caught.value.type, caught.value.message) == ("api_error", "upstream stream error")


# ---------------------------------------------------------------- what Claude Code sends


EPHEMERAL = {"type": "ephemeral"}


def claude_code_body() -> dict[str, Any]:
    """A trimmed copy of Claude Code 2.1's first and second request (its default model)."""
    bash_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
        "additionalProperties": False,
    }
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 128000,
        "stream": True,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "metadata": {"user_id": '{"device_id":"d1","account_uuid":"","session_id":"s1"}'},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": EPHEMERAL},
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command", "input_schema": bash_schema},
            {
                "name": "DeferredToolPlaceholder",
                "description": "never call this tool",
                "input_schema": {"type": "object", "properties": {}},
                "defer_loading": True,
            },
            {
                "name": "NotebookEdit",
                "description": "Edit a notebook",
                "input_schema": {"type": "object", "properties": {}},
                "defer_loading": True,
            },
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>date</system-reminder>"},
                    {"type": "text", "text": "Read a.txt", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {
                "role": "system",
                "content": [{"type": "text", "text": "# Environment", "cache_control": EPHEMERAL}],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "", "signature": "EqQB"},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "Bash",
                        "input": {"command": "cat a.txt"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "hello"}],
                        "is_error": False,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
    }


def test_request_claude_code_conversation() -> None:
    bash = {
        "type": "function",
        "function": {
            "name": "Bash",
            "description": "Run a command",
            "parameters": claude_code_body()["tools"][0]["input_schema"],
        },
    }
    assert convert(claude_code_body()) == {
        "model": "gpt-4o",
        "messages": [
            {
                "role": "system",
                "content": "x-anthropic-billing-header: cc_version=2.1\nYou are Claude Code.",
            },
            {"role": "user", "content": "<system-reminder>date</system-reminder>\nRead a.txt"},
            {"role": "system", "content": "# Environment"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "Bash", "arguments": '{"command":"cat a.txt"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "name": "Bash", "content": "hello"},
        ],
        "max_tokens": 128000,
        "tools": [bash],  # deferred tools stay out until a tool search loads them
        "reasoning_effort": "medium",  # adaptive thinking at output_config's effort
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_request_tool_search_loads_a_deferred_tool() -> None:
    body = claude_code_body()
    body["messages"][-1]["content"][0]["content"] = [
        {"type": "text", "text": "Found:"},
        {"type": "tool_reference", "tool_name": "NotebookEdit"},
    ]
    request = convert(body)
    assert [tool["function"]["name"] for tool in request["tools"]] == ["Bash", "NotebookEdit"]
    assert request["messages"][-1]["content"] == "Found:\nTool loaded: NotebookEdit"


@pytest.mark.parametrize(
    ("effort", "expected"),
    [("low", "low"), ("medium", "medium"), ("high", "high"), ("max", "high"), (None, "high")],
)
def test_request_adaptive_thinking_takes_output_config_effort(
    effort: str | None, expected: str
) -> None:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "adaptive"},
    }
    if effort is not None:
        body["output_config"] = {"effort": effort}
    assert convert(body)["reasoning_effort"] == expected
    # Without thinking the effort level has no OpenAI peer: nothing is sent.
    assert "reasoning_effort" not in convert({**body, "thinking": {"type": "disabled"}})
