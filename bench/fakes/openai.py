"""OpenAI (and Azure OpenAI) chat completions and legacy completions, plain and streamed.

Streams follow the documented sequence: a role chunk, content (or ``reasoning_content``)
deltas, tool-call deltas (the first carries id/type/name with empty arguments, the rest carry
argument pieces), a finish chunk with an empty delta, then - only when
``stream_options.include_usage`` is true - a usage chunk with ``choices: []``; every chunk before
it carries ``"usage": null``. ``data: [DONE]`` ends the stream. Azure adds its content-filter
fields, including the first chunk with empty ``choices``, ``id``, ``model`` and ``created: 0``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aiohttp import web

from bench.fakes.call import Call, Event, Kind, json_response, new_id, send_stream, sse_data
from bench.fakes.errors import stream_error_event
from bench.fakes.scenario import Scenario

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_FINGERPRINT = "fp_fake0001"
_OBFUSCATION = "AbCdEfGhIjKlMnOp"
_DONE = Event(b"data: [DONE]\n\n", Kind.TAIL)
_SAFE = {"filtered": False, "severity": "safe"}


def finish_reason(scenario: Scenario) -> str:
    if scenario.finish_reason:
        return _FINISH.get(scenario.finish_reason, scenario.finish_reason)
    return "tool_calls" if scenario.tool_calls else "stop"


def usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "prompt_tokens": scenario.prompt_tokens,
        "completion_tokens": scenario.completion_tokens,
        "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": scenario.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": scenario.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def wants_stream_usage(call: Call) -> bool:
    mode = call.scenario.stream_usage
    if mode != "requested":
        return mode == "always"
    options = call.body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _content_filters() -> dict[str, Any]:
    return {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


def _prompt_filters() -> list[dict[str, Any]]:
    return [{"prompt_index": 0, "content_filter_results": _content_filters()}]


def _envelope(call: Call, object_: str, prefix: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": new_id(prefix),
        "object": object_,
        "created": int(time.time()),
        "model": call.model,
        "system_fingerprint": _FINGERPRINT,
    }
    if call.provider == "openai":
        body["service_tier"] = "default"
    return body


def _tool_calls(call: Call) -> list[dict[str, Any]]:
    return [
        {
            "id": tool.id or new_id("call_"),
            "type": "function",
            "function": {"name": tool.name, "arguments": tool.arguments_json},
        }
        for tool in call.scenario.tool_calls
    ]


def chat_completion(call: Call) -> dict[str, Any]:
    """The non-stream ``chat.completion`` object."""
    scenario = call.scenario
    tools = _tool_calls(call)
    content = scenario.text if scenario.text or not tools else None
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": [],
    }
    if scenario.thinking:
        message["reasoning_content"] = scenario.thinking
    if tools:
        message["tool_calls"] = tools
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": finish_reason(scenario),
    }
    body = _envelope(call, "chat.completion", "chatcmpl-")
    body.update(choices=[choice], usage=usage(scenario))
    if call.provider == "azure":
        choice["content_filter_results"] = _content_filters()
        body["prompt_filter_results"] = _prompt_filters()
    return body


class _ChunkMaker:
    """Builds the chunks of one stream, all sharing id/created/model."""

    def __init__(self, call: Call) -> None:
        self.base = _envelope(call, "chat.completion.chunk", "chatcmpl-")
        self.with_usage = wants_stream_usage(call)
        options = call.body.get("stream_options")
        self.obfuscate = call.provider == "openai" and not (
            isinstance(options, dict) and options.get("include_obfuscation") is False
        )

    def chunk(self, delta: dict[str, Any], kind: Kind, finish: str | None = None) -> Event:
        body = dict(self.base)
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.with_usage:
            body["usage"] = None
        if self.obfuscate:
            body["obfuscation"] = _OBFUSCATION[: 1 + len(str(delta)) % len(_OBFUSCATION)]
        return Event(sse_data(body), kind)

    def usage_chunk(self, scenario: Scenario) -> Event:
        return Event(sse_data({**self.base, "choices": [], "usage": usage(scenario)}), Kind.TAIL)


def _tool_call_events(call: Call, maker: _ChunkMaker) -> list[Event]:
    events: list[Event] = []
    for index, tool in enumerate(call.scenario.tool_calls):
        head = {
            "index": index,
            "id": tool.id or new_id("call_"),
            "type": "function",
            "function": {"name": tool.name, "arguments": ""},
        }
        events.append(maker.chunk({"tool_calls": [head]}, Kind.CONTENT))
        for piece in tool.argument_pieces():
            delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            events.append(maker.chunk(delta, Kind.CONTENT))
    return events


def chat_events(call: Call) -> list[Event]:
    """Every SSE event of a streamed chat completion, in order."""
    scenario, maker = call.scenario, _ChunkMaker(call)
    events: list[Event] = []
    if call.provider == "azure":
        first = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
        events.append(Event(sse_data({**first, "prompt_filter_results": _prompt_filters()})))
    events.append(maker.chunk({"role": "assistant", "content": "", "refusal": None}, Kind.FRAME))
    events += [
        maker.chunk({"reasoning_content": p}, Kind.CONTENT) for p in scenario.thinking_pieces()
    ]
    events += [maker.chunk({"content": p}, Kind.CONTENT) for p in scenario.text_pieces()]
    events += _tool_call_events(call, maker)
    events.append(maker.chunk({}, Kind.TAIL, finish_reason(scenario)))
    if maker.with_usage:
        events.append(maker.usage_chunk(scenario))
    events.append(_DONE)
    return events


def _completion_finish(scenario: Scenario) -> str:
    reason = finish_reason(scenario)
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def text_completion(call: Call) -> dict[str, Any]:
    """The non-stream legacy ``text_completion`` object."""
    scenario = call.scenario
    body = _envelope(call, "text_completion", "cmpl-")
    choice = {
        "text": scenario.text,
        "index": 0,
        "logprobs": None,
        "finish_reason": _completion_finish(scenario),
    }
    body.update(choices=[choice], usage=usage(scenario))
    return body


def completion_events(call: Call) -> list[Event]:
    scenario = call.scenario
    base = _envelope(call, "text_completion", "cmpl-")
    with_usage = wants_stream_usage(call)

    def chunk(text: str, kind: Kind, finish: str | None = None) -> Event:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        body = {**base, "choices": [choice]}
        if with_usage:
            body["usage"] = None
        return Event(sse_data(body), kind)

    events = [chunk(piece, Kind.CONTENT) for piece in scenario.text_pieces()]
    events.append(chunk("", Kind.TAIL, _completion_finish(scenario)))
    if with_usage:
        events.append(Event(sse_data({**base, "choices": [], "usage": usage(scenario)}), Kind.TAIL))
    events.append(_DONE)
    return events


async def chat(call: Call) -> web.StreamResponse:
    """POST /v1/chat/completions (and Azure's deployment and v1 paths)."""
    if call.stream:
        return await send_stream(call, chat_events(call), partial(stream_error_event, call))
    return json_response(call, chat_completion(call))


async def completions(call: Call) -> web.StreamResponse:
    """POST /v1/completions (legacy)."""
    if call.stream:
        return await send_stream(call, completion_events(call), partial(stream_error_event, call))
    return json_response(call, text_completion(call))
