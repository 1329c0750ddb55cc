"""Anthropic Messages wire shapes and small builders; sans I/O.

The TypedDicts document what the converters read and write; at runtime they are plain dicts.
A stream event travels as ``(event name, data)``: the SSE ``event:`` line carries the name and
the JSON data repeats it in ``type``.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JSONObject = dict[str, Any]
ClaudeEvent = tuple[str, JSONObject]

StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class Base64Source(TypedDict):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSource(TypedDict):
    type: Literal["url"]
    url: str


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str


class ImageBlock(TypedDict):
    type: Literal["image"]
    source: Base64Source | UrlSource


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: JSONObject


class ToolResultBlock(TypedDict, total=False):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[JSONObject]
    is_error: bool


class Message(TypedDict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[JSONObject]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: JSONObject  # input_tokens, output_tokens, cache_read_/cache_creation_input_tokens


def text_block(text: str) -> TextBlock:
    return {"type": "text", "text": text}


def event(name: str, **fields: Any) -> ClaudeEvent:
    """A stream event: the name and its JSON data (which repeats the name as ``type``)."""
    return name, {"type": name, **fields}
