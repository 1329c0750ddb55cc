"""OpenAI -> Claude: chat requests to Messages, chat answers and streams to Claude shapes.

Expected values are written out by hand. Besides the exact goldens, every produced body is
checked against the official SDKs' types; each converted stream, accumulated by the Anthropic
SDK, must say what the non-stream conversion of the same answer says; and an OpenAI request
sent through Claude and back keeps its messages and tools.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from pydantic import TypeAdapter

from newapi.protocol.convert import (
    ChatStreamToClaude,
    StreamError,
    chat_request_to_claude,
    chat_response_to_message,
    messages_request_to_chat,
)
from newapi.protocol.usage import Usage

GOLDEN = Path(__file__).parent / "golden"
CHAT_STREAMS = sorted(path.stem for path in GOLDEN.glob("chat_stream_*.json"))
CLAUDE_PARAMS = TypeAdapter(MessageCreateParamsNonStreaming)
CLAUDE_EVENT = TypeAdapter(RawMessageStreamEvent)


def _consume(value: Any) -> None:
    """Walk a validated SDK TypedDict; pydantic checks ``Iterable`` fields only when iterated."""
    if isinstance(value, dict):
        for item in value.values():
            _consume(item)
    elif isinstance(value, list | tuple | Iterator):
        for item in value:
            _consume(item)


def convert(body: dict[str, Any], **options: Any) -> dict[str, Any]:
    request = chat_request_to_claude(body, upstream_model="claude-sonnet-4-20250514", **options)
    _consume(CLAUDE_PARAMS.validate_python({k: v for k, v in request.items() if k != "stream"}))
    return request


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "strict": True,
    },
}
CLAUDE_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


# ---------------------------------------------------------------- chat_request_to_claude


def test_request_system_multi_turn_tools_and_results() -> None:
    body = {
        "model": "claude-sonnet-4",
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking both.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "24°C"}],
            },
            {"role": "user", "content": "Thanks! Tomorrow?"},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "max_tokens": 512,
        "stream": True,
        "stream_options": {"include_usage": True},
        "n": 1,
        "seed": 7,
        "user": "u-1",
        "response_format": {"type": "text"},
    }
    assert convert(body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 512,
        "system": [
            {"type": "text", "text": "You are a weather bot."},
            {"type": "text", "text": "Answer in French."},
        ],
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking both."},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    # Broken JSON arguments still make a tool_use, so the result pairs up.
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18°C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_2",
                        "content": [{"type": "text", "text": "24°C"}],
                    },
                    {"type": "text", "text": "Thanks! Tomorrow?"},
                ],
            },
        ],
        "stream": True,
        "tools": [CLAUDE_WEATHER_TOOL],
        "tool_choice": {"type": "auto"},
    }


def test_request_images_by_url_and_data_uri_are_never_fetched() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "Compare these",
                        "cache_control": {"type": "ephemeral"},
                    },
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png", "detail": "high"},
                    },
                    {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}},
                    {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                    {
                        "type": "file",
                        "file": {
                            "filename": "a.pdf",
                            "file_data": "data:application/pdf;base64,JVBE",
                        },
                    },
                    {"type": "file", "file": {"filename": "b.PDF", "file_data": "JVBERi0x"}},
                    {"type": "file", "file": {"file_id": "file-abc"}},
                    {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png,not-base64"}},
                    {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}},
                ],
            }
        ]
    }
    assert convert(body)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these", "cache_control": {"type": "ephemeral"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="},
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                },
                {
                    "type": "document",
                    "source": {
                        "type": "base64",
                        "media_type": "application/pdf",
                        "data": "JVBERi0x",
                    },
                },
            ],
        }
    ]


def test_request_roles_are_merged_and_empty_turns_filled() -> None:
    body = {
        "messages": [
            {"role": "assistant", "content": "Earlier answer"},
            {"content": "first"},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": [{"type": "text", "text": "look"}]},
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": None},
            {"role": "user", "content": []},
        ]
    }
    assert convert(body)["messages"] == [
        {"role": "user", "content": "..."},
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "user", "content": "first second"},
        {"role": "assistant", "content": "..."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "look"}, {"type": "text", "text": "again"}],
        },
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "..."},
    ]


def test_request_tool_result_after_user_text_goes_first() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Go"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "user", "content": "(also, hurry)"},
            {"role": "tool", "tool_call_id": "c1", "content": ""},
        ],
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    request = convert(body)
    assert request["messages"][1:] == [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1"},
                {"type": "text", "text": "(also, hurry)"},
            ],
        },
    ]
    assert request["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize(
    ("tool_choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", True, {"type": "any", "disable_parallel_tool_use": False}),
        ("none", False, {"type": "none"}),
        (None, None, None),
    ],
)
def test_request_tool_choice_and_parallel_calls(
    tool_choice: Any, parallel: bool | None, expected: dict[str, Any] | None
) -> None:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [WEATHER_TOOL],
    }
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert convert(body).get("tool_choice") == expected


def test_request_tool_choice_without_tools_is_dropped() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"type": "custom", "custom": {"name": "grammar"}}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }
    assert convert(body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_request_sampling_stop_and_max_tokens() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 20,
        "stop": ["END", " ", "STOP"],
        "max_tokens": 100,
        "max_completion_tokens": 300,
        "frequency_penalty": 0.5,
        "logprobs": True,
    }
    assert convert(body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 20,
        "stop_sequences": ["END", "STOP"],
    }
    single = convert({"messages": [{"role": "user", "content": "Hi"}], "stop": "###"})
    assert single["stop_sequences"] == ["###"]
    assert single["max_tokens"] == 8192
    assert convert({"messages": [], "max_tokens": 0}, default_max_tokens=4096)["max_tokens"] == 4096


@pytest.mark.parametrize(("effort", "budget"), [("low", 1280), ("medium", 2048), ("high", 4096)])
def test_request_reasoning_effort_sets_thinking_budget(effort: str, budget: int) -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "reasoning_effort": effort,
        "max_tokens": 16000,
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 5,
    }
    assert convert(body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 16000,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": budget},
    }


def test_request_reasoning_effort_keeps_budget_below_max_tokens() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "reasoning_effort": "high",
        "max_tokens": 1000,
    }
    request = convert(body)
    assert request["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert request["max_tokens"] == 5096


@pytest.mark.parametrize("effort", ["minimal", "none", "xhigh", 3])
def test_request_other_reasoning_efforts_leave_thinking_off(effort: Any) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": effort}
    assert "thinking" not in convert(body)


@pytest.mark.parametrize(
    ("max_tokens", "expected_max", "budget"),
    [(None, 8192, 6553), (1000, 1280, 1024), (1280, 1280, 1024), (10000, 10000, 8000)],
)
def test_request_thinking_suffix(max_tokens: int | None, expected_max: int, budget: int) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], "top_p": 0.5}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    assert convert(body, thinking=True) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": expected_max,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": budget},
    }


def test_request_thinking_budget_overrides() -> None:
    base = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 20000}
    effort = convert({**base, "reasoning_effort": "medium"}, thinking=True)
    assert effort["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    explicit = convert({**base, "reasoning_effort": "low", "reasoning": {"max_tokens": 9000}})
    assert explicit["thinking"] == {"type": "enabled", "budget_tokens": 9000}
    floor = convert({**base, "reasoning": {"max_tokens": 100}})
    assert floor["thinking"] == {"type": "enabled", "budget_tokens": 1024}


def test_request_web_search_options_become_the_server_tool() -> None:
    body = {
        "messages": [{"role": "user", "content": "News?"}],
        "web_search_options": {
            "search_context_size": "high",
            "user_location": {
                "type": "approximate",
                "approximate": {
                    "city": "Paris",
                    "country": "FR",
                    "region": "",
                    "timezone": "Europe/Paris",
                },
            },
        },
    }
    assert convert(body)["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "max_uses": 10,
            "user_location": {
                "type": "approximate",
                "city": "Paris",
                "country": "FR",
                "timezone": "Europe/Paris",
            },
        }
    ]
    plain = convert({**body, "web_search_options": {}})
    assert plain["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]


def test_request_input_is_not_mutated() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": [{"type": "text", "text": "a"}]},
            {"role": "user", "content": [{"type": "text", "text": "b"}]},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": {"x": 1}},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "r"},
        ],
        "tools": [WEATHER_TOOL],
        "reasoning_effort": "low",
    }
    before = copy.deepcopy(body)
    convert(body, thinking=True)
    assert body == before


# ---------------------------------------------------------------- chat_response_to_message


def test_response_reasoning_text_tool_calls_and_cached_usage() -> None:
    chat = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check.",
                    "reasoning_content": "The user wants weather.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": "{not json"},
                        },
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 80,
            "total_tokens": 1280,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens_details": {"reasoning_tokens": 50},
        },
    }
    message = chat_response_to_message(chat, model="claude-3-5-sonnet")
    assert message == {
        "id": "chatcmpl-abc123",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet",
        "content": [
            {"type": "thinking", "thinking": "The user wants weather.", "signature": ""},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 176,
            "output_tokens": 80,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        },
    }
    Message.model_validate(message)


@pytest.mark.parametrize(
    ("finish_reason", "with_tool", "stop_reason"),
    [
        ("stop", False, "end_turn"),
        ("length", False, "max_tokens"),
        ("tool_calls", True, "tool_use"),
        ("content_filter", False, "refusal"),
        (None, False, "end_turn"),
        ("stop", True, "tool_use"),
    ],
)
def test_response_stop_reasons(
    finish_reason: str | None, with_tool: bool, stop_reason: str
) -> None:
    reply: dict[str, Any] = {"role": "assistant", "content": "ok"}
    if with_tool:
        reply["tool_calls"] = [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]
    chat = {"id": "x", "choices": [{"index": 0, "message": reply, "finish_reason": finish_reason}]}
    message = chat_response_to_message(chat, model="m")
    assert message["stop_reason"] == stop_reason
    Message.model_validate(message)


def test_response_without_choices_or_usage() -> None:
    message = chat_response_to_message({"id": "x", "choices": []}, model="m")
    assert message["content"] == []
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["input_tokens"] == 0
    assert message["usage"]["output_tokens"] == 0
    Message.model_validate(message)


def test_response_tool_arguments_too_deep_to_write_become_empty() -> None:
    # An upstream's tool arguments nested past what orjson writes (or past json's recursion
    # limit) are treated as invalid JSON, not a 500 when the answer is written.
    for depth in (300, 5000):
        arguments = "[" * depth + "]" * depth
        deep = '{"a":' + arguments + "}"
        chat = {
            "choices": [
                {
                    "message": {
                        "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": deep}}]
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        }
        message = chat_response_to_message(chat, model="m")
        assert message["content"][0]["input"] == {}
        assert orjson.loads(orjson.dumps(message))["stop_reason"] == "tool_use"


def test_response_refusal_and_text_parts() -> None:
    refusal = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    chat = {"id": "x", "choices": [{"index": 0, "message": refusal, "finish_reason": "stop"}]}
    assert chat_response_to_message(chat, model="m")["content"] == [
        {"type": "text", "text": "I can't help with that."}
    ]
    parts = {
        "role": "assistant",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    chat = {"id": "x", "choices": [{"index": 0, "message": parts, "finish_reason": "stop"}]}
    assert chat_response_to_message(chat, model="m")["content"] == [{"type": "text", "text": "ab"}]


# ---------------------------------------------------------------- ChatStreamToClaude


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _run(case: dict[str, Any]) -> tuple[ChatStreamToClaude, list[tuple[str, dict[str, Any]]]]:
    """Feed the golden's steps, asserting each step's exact output; returns all events."""
    stream = ChatStreamToClaude(model=case["model"], prompt_estimate=case["prompt_estimate"])
    produced: list[tuple[str, dict[str, Any]]] = []
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
        assert [list(pair) for pair in out] == step["out"], f"step {number}"
        produced += out
    return stream, produced


@pytest.mark.parametrize("name", CHAT_STREAMS)
def test_chat_stream_golden(name: str) -> None:
    case = _golden(name)
    stream, events = _run(case)
    usage = stream.usage
    if case["usage"] is None:
        assert usage is None
    else:
        assert usage is not None
        assert {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
        } == case["usage"]
    for name_, data in events:
        assert name_ == data["type"]
        CLAUDE_EVENT.validate_python(data)


@pytest.mark.parametrize(
    "name", [n for n in CHAT_STREAMS if not n.endswith(("_error", "_cut_short"))]
)
def test_chat_stream_agrees_with_non_stream_conversion(name: str) -> None:
    """Anthropic's SDK, accumulating our events, sees what the non-stream conversion gives."""
    case = _golden(name)
    _, events = _run(case)
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for _, data in events:
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    streamed = snapshot.to_dict()

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for step in case["steps"]:
        if "feed" in step:
            state.handle_chunk(ChatCompletionChunk.model_validate(step["feed"]))
    completion = state.current_completion_snapshot.to_dict()
    expected = chat_response_to_message(completion, model=case["model"])

    assert streamed["content"] == expected["content"]
    assert streamed["stop_reason"] == expected["stop_reason"]
    assert streamed["id"] == expected["id"]


def test_chat_stream_empty_upstream_still_makes_a_whole_message() -> None:
    stream = ChatStreamToClaude(model="claude-x", prompt_estimate=5)
    events = stream.finish()
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert events[0][1]["message"]["id"].startswith("msg_")
    assert events[1][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[1][1]["usage"]["input_tokens"] == 5
    assert stream.usage is None


def test_chat_stream_finish_uses_the_relay_estimate_without_upstream_usage() -> None:
    stream = ChatStreamToClaude(model="claude-x", prompt_estimate=5)
    stream.feed({"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}}]})
    events = stream.finish(estimate=Usage(prompt_tokens=7, completion_tokens=3, estimated=True))
    assert events[-2] == (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {
                "input_tokens": 7,
                "output_tokens": 3,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            },
        },
    )


def test_chat_stream_tool_calls_numbered_zero_with_distinct_ids() -> None:
    """Some upstreams give every call index 0; a new id still opens a new tool_use block."""
    stream = ChatStreamToClaude(model="m", prompt_estimate=1)

    def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
        piece = {"index": 0, "id": call_id, "function": {"name": name, "arguments": arguments}}
        return {"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]}

    events = stream.feed(call("a", "f", '{"x":1}')) + stream.feed(call("b", "g", "{}"))
    events += stream.finish()
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts == [
        {"type": "tool_use", "id": "a", "name": "f", "input": {}},
        {"type": "tool_use", "id": "b", "name": "g", "input": {}},
    ]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_chat_stream_late_piece_of_a_closed_tool_call_is_dropped() -> None:
    stream = ChatStreamToClaude(model="m", prompt_estimate=1)

    def delta(**fields: Any) -> dict[str, Any]:
        return {"id": "c", "choices": [{"index": 0, "delta": fields}]}

    first = {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}
    second = {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}
    stream.feed(delta(tool_calls=[first]))
    stream.feed(delta(tool_calls=[second]))
    assert stream.feed(delta(tool_calls=[{"index": 0, "function": {"arguments": "}"}}])) == []
    stream.feed(delta(content="done"))
    assert stream.feed(delta(tool_calls=[{"index": 1, "function": {"arguments": " "}}])) == []


# ---------------------------------------------------------------- round trip


def _normalise(request: dict[str, Any]) -> dict[str, Any]:
    """What must survive OpenAI -> Claude -> OpenAI, in a comparable form."""
    messages: list[dict[str, Any]] = []
    system = [
        _text(m["content"]) for m in request["messages"] if m["role"] in ("system", "developer")
    ]
    if system:
        messages.append({"role": "system", "content": "\n".join(system)})
    for message in request["messages"]:
        if message["role"] in ("system", "developer"):
            continue
        entry: dict[str, Any] = {
            "role": message["role"],
            "content": _content(message.get("content")),
        }
        if message.get("tool_calls"):
            entry["tool_calls"] = [
                (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in message["tool_calls"]
            ]
        if message["role"] == "tool":
            entry["tool_call_id"] = message["tool_call_id"]
        messages.append(entry)
    tools = [
        (t["function"]["name"], t["function"].get("description"), t["function"].get("parameters"))
        for t in request.get("tools", [])
    ]
    return {
        "messages": messages,
        "tools": tools,
        "tool_choice": request.get("tool_choice"),
        "stop": request.get("stop"),
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part["type"] == "text")


def _content(content: Any) -> Any:
    if content in (None, ""):
        return None
    if isinstance(content, list) and all(part["type"] == "text" for part in content):
        return _text(content)
    return content


ROUND_TRIPS = {
    "plain chat": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Bye"},
        ],
        "stop": ["END"],
    },
    "tools and results": {
        "messages": [
            {"role": "developer", "content": "Use tools."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "24°C"},
            {"role": "user", "content": "Thanks"},
            {"role": "assistant", "content": "You're welcome."},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    },
    "images": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What differs?"},
                    {"type": "image_url", "image_url": {"url": "https://e.x/a.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
                ],
            }
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
    },
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_round_trip_keeps_messages_and_tools(name: str) -> None:
    original = ROUND_TRIPS[name]
    claude = convert(original)
    back = messages_request_to_chat(claude, upstream_model="gpt-4o")
    assert _normalise(back) == _normalise(original)
