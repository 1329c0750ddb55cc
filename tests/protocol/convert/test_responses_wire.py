"""A chat caller on a model served only through Responses: hub -> Responses -> hub.

Expected values are written out by hand. Requests are validated against the openai SDK's
``ResponseCreateParams``; converted streams are accumulated by the SDK's chat stream state and
must say what the non-stream conversion of the same Response says. Last, the round trip
Responses -> hub -> Responses keeps what Responses defines (ids aside).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import Omit
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from pydantic import TypeAdapter

from newapi.protocol.convert import (
    ChatStreamToResponses,
    ResponsesStreamToChat,
    StreamError,
    chat_request_to_responses,
    chat_response_to_responses,
    responses_response_to_chat,
)
from newapi.protocol.usage import Usage

EVENT = TypeAdapter(ResponseStreamEvent)
CREATE_PARAMS = TypeAdapter(ResponseCreateParamsNonStreaming)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_chat_request_to_responses() -> None:
    body = {
        "model": "gpt-5-pro",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here and in Oslo?"},
                    {"type": "image_url", "image_url": {"url": "https://x/map.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "Two cities, two calls.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        "extra_content": {"google": {"thought_signature": "U0lH"}},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "4C"}]},
        ],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": True,
        "reasoning_effort": "high",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True},
        },
        "max_completion_tokens": 2000,
        "stop": ["END"],
        "seed": 1,
        "prompt_cache_key": "k",
        "extra_body": {"google": {"thinking_config": {"thinking_budget": 10}}},
    }
    request = chat_request_to_responses(body, upstream_model="gpt-5-pro")
    CREATE_PARAMS.validate_python(request)
    assert request == {
        "model": "gpt-5-pro",
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "developer", "content": "Use metric units."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Weather here and in Oslo?"},
                    {"type": "input_image", "image_url": "https://x/map.png", "detail": "auto"},
                ],
            },
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {
                "type": "function_call",
                "call_id": "call_2",
                "name": "get_weather",
                "arguments": '{"city":"Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "4C"},
        ],
        "max_output_tokens": 2000,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": False,  # Responses would default to strict and refuse this schema
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": True,
        "reasoning": {"effort": "high", "summary": "auto"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "w",
                "schema": {"type": "object"},
                "strict": True,
            }
        },
        "prompt_cache_key": "k",
        "store": False,
    }


def test_chat_request_web_search_and_stream() -> None:
    body = {
        "messages": [{"role": "user", "content": "news?"}],
        "web_search_options": {
            "search_context_size": "high",
            "user_location": {"type": "approximate", "approximate": {"city": "Oslo"}},
        },
        "stream": True,
        "stream_options": {"include_usage": True},
        "verbosity": "low",
    }
    request = chat_request_to_responses(body, upstream_model="gpt-5")
    assert request["tools"] == [
        {
            "type": "web_search",
            "search_context_size": "high",
            "user_location": {"type": "approximate", "city": "Oslo"},
        }
    ]
    assert request["stream"] is True and "stream_options" not in request
    assert request["text"] == {"verbosity": "low"}
    assert request["input"] == [{"type": "message", "role": "user", "content": "news?"}]


# An answer as OpenAI's Responses API gives it: reasoning, text, a parallel pair, a custom call.
RESPONSE: dict[str, Any] = {
    "id": "resp_abc",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "model": "gpt-5-codex",
    "output": [
        {
            "id": "rs_1",
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": "**Plan**"},
                {"type": "summary_text", "text": "Check both."},
            ],
            "encrypted_content": "gAAAA-opaque",
        },
        {
            "id": "msg_1",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
        },
        {
            "id": "fc_1",
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "status": "completed",
        },
        {
            "id": "fc_2",
            "type": "function_call",
            "call_id": "call_2",
            "name": "get_weather",
            "arguments": '{"city":"Oslo"}',
            "status": "completed",
        },
        {
            "id": "ctc_1",
            "type": "custom_tool_call",
            "call_id": "call_3",
            "name": "apply_patch",
            "input": 'say "hi"\n',
        },
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "temperature": 1.0,
    "top_p": 1.0,
    "usage": {
        "input_tokens": 500,
        "input_tokens_details": {"cached_tokens": 400, "cache_write_tokens": 0},
        "output_tokens": 80,
        "output_tokens_details": {"reasoning_tokens": 50},
        "total_tokens": 580,
    },
}


def test_responses_answer_to_chat() -> None:
    Response.model_validate(RESPONSE)
    chat = responses_response_to_chat(RESPONSE, model="gpt-5-codex")
    assert chat == {
        "id": "resp_abc",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-5-codex",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "reasoning_content": "**Plan**\n\nCheck both.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        },
                        {
                            "id": "call_3",
                            "type": "function",
                            "function": {
                                "name": "apply_patch",
                                "arguments": '{"input":"say \\"hi\\"\\n"}',
                            },
                        },
                    ],
                },
                "finish_reason": "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 500,
            "completion_tokens": 80,
            "total_tokens": 580,
            "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 50, "audio_tokens": 0},
        },
    }


def test_incomplete_answers_map_to_finish_reasons() -> None:
    cut = {**RESPONSE, "status": "incomplete", "output": RESPONSE["output"][1:2]}
    cut["incomplete_details"] = {"reason": "max_output_tokens"}
    assert responses_response_to_chat(cut, model="m")["choices"][0]["finish_reason"] == "length"
    cut["incomplete_details"] = {"reason": "content_filter"}
    reason = responses_response_to_chat(cut, model="m")["choices"][0]["finish_reason"]
    assert reason == "content_filter"


def _openai_stream(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The event stream OpenAI sends for ``response``: made by our own caller-side converter
    from the equivalent hub answer, then checked by the SDK's Responses stream state."""
    request = {"tools": [{"type": "custom", "name": "apply_patch"}]}
    converter = ChatStreamToResponses(
        model="gpt-5-codex", request=request, response_id="resp_abc", created=1
    )
    chat = responses_response_to_chat(response, model="gpt-5-codex")
    message = chat["choices"][0]["message"]
    chunks: list[dict[str, Any]] = []
    for text in (message["reasoning_content"][:5], message["reasoning_content"][5:]):
        chunks.append({"choices": [{"index": 0, "delta": {"reasoning_content": text}}]})
    chunks.append({"choices": [{"index": 0, "delta": {"content": message["content"]}}]})
    for index, call in enumerate(message["tool_calls"]):
        arguments = call["function"]["arguments"]
        first = {
            **call,
            "index": index,
            "function": {**call["function"], "arguments": arguments[:7]},
        }
        rest = {"index": index, "function": {"arguments": arguments[7:]}}
        for piece in (first, rest):
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    events = [data for chunk in chunks for _, data in converter.feed(chunk)]
    usage = Usage(500, 80, cache_read_tokens=400, reasoning_tokens=50)
    events += [data for _, data in converter.finish(usage)]
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=Omit(), text_format=Omit())
    for event in events:
        state.handle_event(EVENT.validate_python(event))
    return events


def _stream(events: list[dict[str, Any]], include_usage: bool = True) -> Any:
    converter = ResponsesStreamToChat(model="gpt-5-codex", include_usage=include_usage, created=1)
    chunks = [chunk for event in events for chunk in converter.feed(event)]
    return converter, chunks + converter.finish()


def test_responses_stream_to_chat_agrees_with_non_stream() -> None:
    events = _openai_stream(RESPONSE)
    converter, chunks = _stream(events)
    assert converter.finished
    assert converter.usage == Usage(500, 80, cache_read_tokens=400, reasoning_tokens=50)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 580
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    streamed = state.current_completion_snapshot.choices[0]
    expected = responses_response_to_chat(RESPONSE, model="gpt-5-codex")["choices"][0]
    assert streamed.finish_reason == expected["finish_reason"] == "tool_calls"
    assert streamed.message.content == expected["message"]["content"]
    # One summary part in the stream, two in RESPONSE: the text is the same minus the joint.
    assert getattr(streamed.message, "reasoning_content", None) == "**Plan**\n\nCheck both."
    calls = [
        (c.id, c.function.name, json.loads(c.function.arguments))
        for c in streamed.message.tool_calls or []
    ]
    assert calls == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in expected["message"]["tool_calls"]
    ]


def test_custom_tool_input_streams_as_escaped_json() -> None:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1"}},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "output_index": 0,
            "item": {
                "id": "ctc_1",
                "type": "custom_tool_call",
                "call_id": "c1",
                "name": "apply_patch",
                "input": "",
            },
        },
        {
            "type": "response.custom_tool_call_input.delta",
            "sequence_number": 2,
            "item_id": "ctc_1",
            "output_index": 0,
            "delta": 'a "q"\n',
        },
        {
            "type": "response.custom_tool_call_input.delta",
            "sequence_number": 3,
            "item_id": "ctc_1",
            "output_index": 0,
            "delta": "b\\",
        },
        {
            "type": "response.custom_tool_call_input.done",
            "sequence_number": 4,
            "item_id": "ctc_1",
            "output_index": 0,
            "input": 'a "q"\nb\\',
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 5,
            "output_index": 0,
            "item": {
                "id": "ctc_1",
                "type": "custom_tool_call",
                "call_id": "c1",
                "name": "apply_patch",
                "input": 'a "q"\nb\\',
            },
        },
        {
            "type": "response.completed",
            "sequence_number": 6,
            "response": {"id": "resp_1", "status": "completed", "output": []},
        },
    ]
    _, chunks = _stream(events, include_usage=False)
    pieces = [
        call["function"].get("arguments", "")
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls", [])
    ]
    assert json.loads("".join(pieces)) == {"input": 'a "q"\nb\\'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_with_only_a_final_response_is_replayed() -> None:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_abc"}},
        {"type": "response.completed", "sequence_number": 1, "response": RESPONSE},
    ]
    _, chunks = _stream(events, include_usage=False)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    message = state.current_completion_snapshot.choices[0].message
    assert message.content == "Checking."
    assert [c.id for c in message.tool_calls or []] == ["call_1", "call_2", "call_3"]


def test_failed_and_error_events_raise() -> None:
    converter = ResponsesStreamToChat(model="m", include_usage=True)
    failed = {
        "type": "response.failed",
        "sequence_number": 3,
        "response": {
            "id": "r",
            "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "slow"},
        },
    }
    with pytest.raises(StreamError) as raised:
        converter.feed(failed)
    assert (raised.value.type, raised.value.message) == ("rate_limit_exceeded", "slow")
    with pytest.raises(StreamError) as raised:
        converter.feed(
            {"type": "error", "code": "server_error", "message": "boom", "sequence_number": 4}
        )
    assert raised.value.type == "server_error"
    assert not converter.finished


# ---------------------------------------------------------------- round trip


def test_round_trip_responses_hub_responses_keeps_the_answer() -> None:
    """Responses -> hub -> Responses: what a Responses caller reads survives (ids, the summary
    part split and OpenAI's encrypted reasoning are the documented losses)."""
    request = {
        "tools": [
            {"type": "function", "name": "get_weather"},
            {"type": "custom", "name": "apply_patch"},
        ]
    }
    chat = responses_response_to_chat(RESPONSE, model="gpt-5-codex")
    back = chat_response_to_responses(chat, model="gpt-5-codex", request=request)
    Response.model_validate(back)

    def essence(output: list[dict[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for item in output:
            kind = item["type"]
            if kind == "reasoning":
                out.append((kind, "\n\n".join(p["text"] for p in item["summary"])))
            elif kind == "message":
                out.append((kind, [(p["type"], p["text"]) for p in item["content"]]))
            elif kind == "function_call":
                out.append((kind, item["call_id"], item["name"], item["arguments"]))
            else:
                out.append((kind, item["call_id"], item["name"], item["input"]))
        return out

    assert essence(back["output"]) == essence(RESPONSE["output"])
    assert back["usage"] == RESPONSE["usage"]
    assert back["status"] == "completed"

    # The same through both stream converters: Responses events -> hub chunks -> events.
    _, chunks = _stream(_openai_stream(RESPONSE))
    sink = ChatStreamToResponses(
        model="gpt-5-codex", request=request, response_id="resp_rt", created=1
    )
    events = [event for chunk in chunks for event in sink.feed(chunk)]
    events += sink.finish(Usage(500, 80, cache_read_tokens=400, reasoning_tokens=50))
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=Omit(), text_format=Omit())
    final = None
    for _, data in events:
        for out in state.handle_event(EVENT.validate_python(data)):
            final = out
    assert final is not None and final.type == "response.completed"
    streamed = final.response.model_dump(exclude_none=True)
    assert essence(streamed["output"]) == essence(RESPONSE["output"])
    assert streamed["usage"] == RESPONSE["usage"]
