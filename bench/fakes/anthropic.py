"""Anthropic Messages API: the message object and its SSE event sequence.

Stream: ``message_start`` (content empty, usage with input/cache counts and a small
``output_tokens``), then per block ``content_block_start`` / ``content_block_delta``s
(``thinking_delta`` + ``signature_delta``, ``text_delta``, ``input_json_delta``) /
``content_block_stop``, a ``ping`` after the first block start, ``message_delta`` with the
stop reason and cumulative usage (the current API repeats the input and cache counts there,
so a gateway must overwrite, not add), and ``message_stop``. Every event has an ``event:`` line.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from bench.fakes.call import Call, Event, Kind, json_response, new_id, send_stream, sse_named
from bench.fakes.errors import stream_error_event
from bench.fakes.scenario import Scenario

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
_PING = Event(sse_named("ping", {"type": "ping"}))
_STOP_EVENT = Event(sse_named("message_stop", {"type": "message_stop"}), Kind.TAIL)


def stop_reason(scenario: Scenario) -> str:
    if scenario.finish_reason:
        return _STOP.get(scenario.finish_reason, scenario.finish_reason)
    return "tool_use" if scenario.tool_calls else "end_turn"


def usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "input_tokens": scenario.prompt_tokens,
        "cache_creation_input_tokens": (
            scenario.cache_creation_tokens + scenario.cache_creation_1h_tokens
        ),
        "cache_read_input_tokens": scenario.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": scenario.cache_creation_tokens,
            "ephemeral_1h_input_tokens": scenario.cache_creation_1h_tokens,
        },
        "output_tokens": scenario.completion_tokens,
        "service_tier": "standard",
    }


def content_blocks(scenario: Scenario) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if scenario.thinking:
        blocks.append({"type": "thinking", "thinking": scenario.thinking, "signature": _SIGNATURE})
    if scenario.text:
        blocks.append({"type": "text", "text": scenario.text})
    for tool in scenario.tool_calls:
        tool_id = tool.id or new_id("toolu_")
        blocks.append(
            {"type": "tool_use", "id": tool_id, "name": tool.name, "input": tool.input_object()}
        )
    return blocks


def message(call: Call) -> dict[str, Any]:
    """The non-stream ``message`` object."""
    scenario = call.scenario
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content_blocks(scenario),
        "stop_reason": stop_reason(scenario),
        "stop_sequence": None,
        "usage": usage(scenario),
    }


def _event(name: str, kind: Kind = Kind.FRAME, **fields: Any) -> Event:
    return Event(sse_named(name, {"type": name, **fields}), kind)


def _delta(index: int, delta: dict[str, Any], kind: Kind = Kind.CONTENT) -> Event:
    return _event("content_block_delta", kind, index=index, delta=delta)


def _block_events(index: int, block: dict[str, Any], scenario: Scenario) -> list[Event]:
    """Start, deltas and stop of one content block (``block`` is the finished block)."""
    kind = block["type"]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            _delta(index, {"type": "thinking_delta", "thinking": p})
            for p in scenario.thinking_pieces()
        ]
        deltas.append(
            _delta(index, {"type": "signature_delta", "signature": _SIGNATURE}, Kind.FRAME)
        )
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [_delta(index, {"type": "text_delta", "text": p}) for p in scenario.text_pieces()]
    else:
        start = {**block, "input": {}}
        tool = scenario.tool_calls[index - _tool_offset(scenario)]
        deltas = [
            _delta(index, {"type": "input_json_delta", "partial_json": piece})
            for piece in tool.argument_pieces()
        ]
    events = [_event("content_block_start", index=index, content_block=start)]
    events += deltas
    events.append(_event("content_block_stop", index=index))
    return events


def _tool_offset(scenario: Scenario) -> int:
    return int(bool(scenario.thinking)) + int(bool(scenario.text))


def message_events(call: Call) -> list[Event]:
    """Every SSE event of a streamed message, in order."""
    scenario = call.scenario
    full = message(call)
    start_usage = {**full["usage"], "output_tokens": min(1, scenario.completion_tokens)}
    opening = {**full, "content": [], "stop_reason": None, "usage": start_usage}
    events = [_event("message_start", message=opening)]
    for index, block in enumerate(full["content"]):
        events += _block_events(index, block, scenario)
    events.insert(2 if full["content"] else 1, _PING)
    final_usage = {key: value for key, value in full["usage"].items() if key.endswith("tokens")}
    delta = {"stop_reason": full["stop_reason"], "stop_sequence": None}
    events.append(_event("message_delta", Kind.TAIL, delta=delta, usage=final_usage))
    events.append(_STOP_EVENT)
    return events


async def messages(call: Call) -> web.StreamResponse:
    """POST /v1/messages."""
    if call.stream:
        return await send_stream(call, message_events(call), partial(stream_error_event, call))
    return json_response(call, message(call))


async def count_tokens(call: Call) -> web.StreamResponse:
    """POST /v1/messages/count_tokens."""
    return json_response(call, {"input_tokens": call.scenario.prompt_tokens})
