"""A Responses caller (Codex CLI) on a chat, Claude or Gemini channel: Responses -> hub -> back.

Expected values are written out by hand. Every Response and stream event produced is validated
against the openai SDK's Responses types, and each converted stream is accumulated by the SDK's
own ``ResponseStreamState``: the Response it builds must equal the non-stream conversion of the
same answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import Omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParamsStreaming
from pydantic import TypeAdapter

from newapi.protocol.convert import (
    ChatStreamToResponses,
    StreamError,
    chat_response_to_responses,
    responses_request_to_chat,
)
from newapi.protocol.responses import SIGNATURES_PREFIX
from newapi.protocol.usage import Usage

EVENT = TypeAdapter(ResponseStreamEvent)
CREATE_PARAMS = TypeAdapter(ResponseCreateParamsStreaming)

SHELL = {
    "type": "function",
    "name": "shell",
    "description": "Runs a shell command",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        "required": ["command"],
        "additionalProperties": False,
    },
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"},
}
# What Codex sends on its second turn: the model ran two shell calls in parallel, then a patch.
CODEX_REQUEST: dict[str, Any] = {
    "model": "gpt-5-codex",
    "instructions": "You are Codex, a coding agent.",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Sandbox: workspace-write."}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": "<environment_context>cwd=/repo</environment_context>",
                },
                {"type": "input_text", "text": "Fix the failing test."},
            ],
        },
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Look around first."}],
            "encrypted_content": "gAAAAopaque-openai-blob",
        },
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "shell",
            "arguments": '{"command":["ls"]}',
        },
        {
            "type": "function_call",
            "call_id": "call_b",
            "name": "shell",
            "arguments": '{"command":["cat","t.py"]}',
        },
        {"type": "function_call_output", "call_id": "call_a", "output": "t.py"},
        {"type": "function_call_output", "call_id": "call_b", "output": "assert 1 == 2"},
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Patching.", "annotations": []}],
        },
        {
            "type": "custom_tool_call",
            "call_id": "call_c",
            "name": "apply_patch",
            "input": "*** Begin Patch\n",
        },
        {"type": "custom_tool_call_output", "call_id": "call_c", "output": "Done!"},
        {"type": "item_reference", "id": "msg_old"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "And this screenshot?"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,iVBO",
                    "detail": "high",
                },
            ],
        },
    ],
    "tools": [SHELL, APPLY_PATCH, {"type": "web_search", "search_context_size": "low"}],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"effort": "high", "summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "conv-42",
    "text": {"verbosity": "low"},
    "max_output_tokens": 4096,
}


def test_codex_request_to_hub() -> None:
    CREATE_PARAMS.validate_python(CODEX_REQUEST)  # the fixture is a valid Responses request
    hub = responses_request_to_chat(CODEX_REQUEST, upstream_model="deepseek-chat")
    assert hub == {
        "model": "deepseek-chat",
        "messages": [
            {"role": "system", "content": "You are Codex, a coding agent."},
            {"role": "developer", "content": "Sandbox: workspace-write."},
            {
                "role": "user",
                "content": "<environment_context>cwd=/repo</environment_context>\n"
                "Fix the failing test.",
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "Look around first.",
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "shell", "arguments": '{"command":["ls"]}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "shell", "arguments": '{"command":["cat","t.py"]}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "name": "shell", "content": "t.py"},
            {"role": "tool", "tool_call_id": "call_b", "name": "shell", "content": "assert 1 == 2"},
            {
                "role": "assistant",
                "content": "Patching.",
                "tool_calls": [
                    {
                        "id": "call_c",
                        "type": "function",
                        "function": {
                            "name": "apply_patch",
                            "arguments": '{"input":"*** Begin Patch\\n"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_c", "name": "apply_patch", "content": "Done!"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And this screenshot?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBO", "detail": "high"},
                    },
                ],
            },
        ],
        "max_tokens": 4096,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "shell",
                    "description": "Runs a shell command",
                    "parameters": SHELL["parameters"],
                    "strict": False,
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "apply_patch",
                    "description": "Apply a patch",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "input": {
                                "type": "string",
                                "description": "Text matching this lark grammar:\n"
                                "start: begin_patch",
                            }
                        },
                        "required": ["input"],
                        "additionalProperties": False,
                    },
                },
            },
        ],
        "web_search_options": {"search_context_size": "low"},
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning_effort": "high",
        "verbosity": "low",
        "prompt_cache_key": "conv-42",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_request_string_input_json_schema_and_forced_custom_tool() -> None:
    body = {
        "model": "gpt-5",
        "input": "Give me a city.",
        "tools": [APPLY_PATCH, {"type": "file_search", "vector_store_ids": ["vs_1"]}],
        "tool_choice": {"type": "custom", "name": "apply_patch"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "city",
                "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
                "strict": True,
            }
        },
        "temperature": 0.2,
        "top_p": 0.9,
    }
    hub = responses_request_to_chat(body, upstream_model="m", include_usage=False)
    assert hub["messages"] == [{"role": "user", "content": "Give me a city."}]
    assert [t["function"]["name"] for t in hub["tools"]] == ["apply_patch"]  # file_search gone
    assert hub["tool_choice"] == {"type": "function", "function": {"name": "apply_patch"}}
    assert hub["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
            "strict": True,
        },
    }
    assert (hub["temperature"], hub["top_p"]) == (0.2, 0.9)
    assert "stream" not in hub and "stream_options" not in hub


def test_request_without_tools_sends_no_tool_choice() -> None:
    hub = responses_request_to_chat(
        {"input": "hi", "tool_choice": "required", "parallel_tool_calls": False},
        upstream_model="m",
    )
    assert "tool_choice" not in hub and "parallel_tool_calls" not in hub


def test_request_restores_gemini_thought_signatures_and_local_shell() -> None:
    signatures = SIGNATURES_PREFIX + json.dumps({"call_1": "c2ln"})
    body = {
        "input": [
            {"type": "message", "role": "user", "content": "list files"},
            {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": signatures},
            {
                "type": "local_shell_call",
                "id": "lsh_1",
                "call_id": "call_1",
                "status": "completed",
                "action": {"type": "exec", "command": ["ls", "-a"], "env": {}},
            },
            {"type": "local_shell_call_output", "id": "call_1", "output": ". .."},
        ],
        "tools": [{"type": "local_shell"}],
    }
    hub = responses_request_to_chat(body, upstream_model="gemini-3-pro")
    assistant = hub["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": "local_shell",
                    "arguments": '{"command":["ls","-a"],"env":{}}',
                },
                "extra_content": {"google": {"thought_signature": "c2ln"}},
            }
        ],
    }
    assert hub["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "name": "local_shell",
        "content": ". ..",
    }
    assert hub["tools"][0]["function"]["name"] == "local_shell"


# ---------------------------------------------------------------- answers


def _chat(message: dict[str, Any], finish_reason: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "deepseek-chat",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


TOOL_ANSWER = _chat(
    {
        "role": "assistant",
        "content": "Running both.",
        "reasoning_content": "Two reads are independent.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "shell", "arguments": '{"command":["ls"]}'},
                "extra_content": {"google": {"thought_signature": "U0lH"}},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "apply_patch", "arguments": '{"input":"*** Begin Patch"}'},
            },
        ],
    },
    "tool_calls",
    {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 12},
    },
)


def test_answer_with_reasoning_parallel_and_custom_calls() -> None:
    response = chat_response_to_responses(
        TOOL_ANSWER, model="gpt-5-codex", request=CODEX_REQUEST, response_id="resp_t", created=7
    )
    Response.model_validate(response)
    assert response["id"] == "resp_t" and response["object"] == "response"
    assert response["status"] == "completed" and response["incomplete_details"] is None
    assert response["output"] == [
        {
            "id": "rs_t_1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Two reads are independent."}],
            "encrypted_content": SIGNATURES_PREFIX + '{"call_1":"U0lH"}',
        },
        {
            "id": "msg_t_2",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Running both.", "annotations": [], "logprobs": []}
            ],
        },
        {
            "id": "fc_t_3",
            "type": "function_call",
            "call_id": "call_1",
            "name": "shell",
            "arguments": '{"command":["ls"]}',
            "status": "completed",
        },
        {
            "id": "ctc_t_4",
            "type": "custom_tool_call",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": "*** Begin Patch",
        },
    ]
    assert response["usage"] == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 150,
    }
    # The caller's request is echoed, as the Responses API does.
    assert response["instructions"] == CODEX_REQUEST["instructions"]
    assert response["reasoning"] == {"effort": "high", "summary": "auto"}
    assert response["text"] == {"format": {"type": "text"}, "verbosity": "low"}
    assert response["prompt_cache_key"] == "conv-42" and response["store"] is False
    assert [t["name"] for t in response["tools"] if "name" in t] == ["shell", "apply_patch"]


def test_answer_without_include_keeps_no_signatures() -> None:
    request = {k: v for k, v in CODEX_REQUEST.items() if k != "include"}
    response = chat_response_to_responses(TOOL_ANSWER, model="m", request=request)
    assert "encrypted_content" not in response["output"][0]
    assert response["id"].startswith("resp_")


def test_answer_cut_by_length_is_incomplete() -> None:
    answer = _chat({"role": "assistant", "content": "Once upon"}, "length", {})
    response = chat_response_to_responses(answer, model="m", request={"input": "story"})
    Response.model_validate(response)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    assert response["usage"]["total_tokens"] == 0


# ---------------------------------------------------------------- streams


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _call(index: int, arguments: str, **first: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if first:
        call.update(id=first["id"], type="function", extra_content=first.get("extra"))
        call["function"]["name"] = first["name"]
        if call["extra_content"] is None:
            del call["extra_content"]
    return _chunk({"tool_calls": [call]})


TOOL_STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"reasoning_content": "Two reads "}),
    _chunk({"reasoning_content": "are independent."}),
    _chunk({"content": "Running "}),
    _chunk({"content": "both."}),
    _call(0, '{"command":', id="call_1", name="shell"),
    _call(0, '["ls"]}'),
    _call(1, '{"input":"*** Begin', id="call_2", name="apply_patch"),
    _call(1, ' Patch"}'),
    _chunk({}, "tool_calls"),
    {**_chunk({}), "choices": [], "usage": TOOL_ANSWER["usage"]},
]
TEXT_STREAM = [
    _chunk({"role": "assistant", "content": "Hel"}),
    _chunk({"content": "lo"}),
    _chunk({}, "length"),
]


def _events(chunks: list[dict[str, Any]], request: dict[str, Any]) -> list[tuple[str, Any]]:
    converter = ChatStreamToResponses(
        model="gpt-5-codex", request=request, response_id="resp_t", created=7
    )
    events = [event for chunk in chunks for event in converter.feed(chunk)]
    usage = Usage(120, 30, cache_read_tokens=100, reasoning_tokens=12)
    return events + converter.finish(usage)


def _accumulate(events: list[tuple[str, Any]]) -> Any:
    """The SDK's own stream state over our events: its final Response (or last event)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=Omit(), text_format=Omit())
    last = None
    for name, data in events:
        assert data["type"] == name
        for out in state.handle_event(EVENT.validate_python(data)):
            last = out
    return last


def test_stream_event_sequence() -> None:
    request = {k: v for k, v in CODEX_REQUEST.items() if k != "include"}
    events = _events(TOOL_STREAM, request)
    assert [name.removeprefix("response.") for name, _ in events] == [
        "created",
        "in_progress",
        "output_item.added",  # reasoning
        "reasoning_summary_part.added",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.done",
        "reasoning_summary_part.done",
        "output_item.done",
        "output_item.added",  # message
        "content_part.added",
        "output_text.delta",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "output_item.added",  # function call
        "function_call_arguments.delta",
        "function_call_arguments.delta",
        "output_item.added",  # custom tool call: its input comes whole at the end
        "function_call_arguments.done",
        "output_item.done",
        "custom_tool_call_input.delta",
        "custom_tool_call_input.done",
        "output_item.done",
        "completed",
    ]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    items = {}
    for name, data in events:
        if name == "response.output_item.added":
            items[data["output_index"]] = data["item"]["id"]
        elif "item_id" in data:
            assert items[data["output_index"]] == data["item_id"]
    assert events[22][1]["delta"] == "*** Begin Patch"
    assert events[20][1]["arguments"] == '{"command":["ls"]}'


def test_stream_accumulates_to_the_non_stream_response() -> None:
    request = {k: v for k, v in CODEX_REQUEST.items() if k != "include"}
    completed = _accumulate(_events(TOOL_STREAM, request))
    assert completed.type == "response.completed"
    expected = chat_response_to_responses(
        TOOL_ANSWER, model="gpt-5-codex", request=request, response_id="resp_t", created=7
    )
    assert completed.response.model_dump(exclude_none=True) == Response.model_validate(
        expected
    ).model_dump(exclude_none=True)


def test_stream_with_signature_adds_a_reasoning_item_before_the_call() -> None:
    chunks = [
        _chunk({"content": "Listing."}),
        _call(
            0,
            '{"command":["ls"]}',
            id="call_1",
            name="shell",
            extra={"google": {"thought_signature": "U0lH"}},
        ),
        _chunk({}, "tool_calls"),
    ]
    completed = _accumulate(_events(chunks, CODEX_REQUEST))
    kinds = [
        (item.type, getattr(item, "encrypted_content", None)) for item in completed.response.output
    ]
    assert kinds == [
        ("message", None),
        ("reasoning", SIGNATURES_PREFIX + '{"call_1":"U0lH"}'),
        ("function_call", None),
    ]


def test_stream_cut_by_length_ends_incomplete() -> None:
    events = _events(TEXT_STREAM, {"input": "hi"})
    name, data = events[-1]
    assert name == "response.incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert data["response"]["output"][0]["content"][0]["text"] == "Hello"
    assert _accumulate(events).type == "response.incomplete"


def test_stream_failure_and_upstream_error() -> None:
    converter = ChatStreamToResponses(model="m", request={"input": "hi"})
    events = converter.feed(_chunk({"content": "Hi"}))
    events += converter.fail("upstream went away")
    name, data = events[-1]
    assert name == "response.failed"
    assert data["response"]["error"] == {"code": "server_error", "message": "upstream went away"}
    assert data["sequence_number"] == len(events) - 1
    _accumulate(events)  # the SDK takes the sequence
    assert converter.finish(Usage()) == [] and converter.fail("again") == []

    broken = ChatStreamToResponses(model="m", request={"input": "hi"})
    with pytest.raises(StreamError) as raised:
        broken.feed({"error": {"type": "rate_limit", "message": "slow down"}})
    assert raised.value.message == "slow down"


def test_empty_stream_still_completes() -> None:
    converter = ChatStreamToResponses(model="m", request={"input": "hi"})
    events = converter.finish(Usage(3, 0))
    assert [name for name, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert events[-1][1]["response"]["usage"]["input_tokens"] == 3


def test_request_web_search_without_live_access_is_left_out() -> None:
    # Codex's default web search is "cached": a chat upstream's web_search_options (and
    # Anthropic's web_search tool made from them) would search the live web, billed per search.
    tools = [SHELL, {"type": "web_search", "external_web_access": False}]
    body = responses_request_to_chat(
        {"model": "gpt-5", "input": "hi", "tools": tools}, upstream_model="gpt-5"
    )
    assert "web_search_options" not in body
    assert [tool["function"]["name"] for tool in body["tools"]] == ["shell"]
    live = [SHELL, {"type": "web_search", "external_web_access": True}]
    body = responses_request_to_chat(
        {"model": "gpt-5", "input": "hi", "tools": live}, upstream_model="gpt-5"
    )
    assert body["web_search_options"] == {}
