"""OpenAI Chat Completions wire shapes and the small helpers every converter needs; sans I/O.

The TypedDicts document the shapes the gateway reads and writes; at runtime they are plain dicts,
so converters accept any JSON object and never trust a field's type without checking it.
``reasoning_content`` is the DeepSeek-style reasoning field new-api uses on OpenAI responses.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict

from newapi.protocol.depth import too_deep

JSONObject = dict[str, Any]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class FunctionCall(TypedDict):
    name: str
    arguments: str  # a JSON document as a string


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ToolCallDelta(TypedDict, total=False):
    index: int
    id: str
    type: Literal["function"]
    function: dict[str, str]  # name on the first piece, then arguments pieces


class ChatMessage(TypedDict, total=False):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[JSONObject] | None
    name: str
    tool_calls: list[ToolCall]
    tool_call_id: str
    reasoning_content: str


class ChatChoice(TypedDict):
    index: int
    message: ChatMessage
    finish_reason: FinishReason | None
    logprobs: None


class ChatCompletion(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: JSONObject


class ChunkDelta(TypedDict, total=False):
    role: Literal["assistant"]
    content: str
    reasoning_content: str
    tool_calls: list[ToolCallDelta]


class ChunkChoice(TypedDict):
    index: int
    delta: ChunkDelta
    finish_reason: FinishReason | None


class ChatCompletionChunk(TypedDict):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: NotRequired[JSONObject]


def text_of(content: Any, separator: str = "") -> str:
    """The text of a message ``content``: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        part["text"]
        for part in content
        if isinstance(part, dict)
        and part.get("type") in ("text", "refusal")
        and isinstance(part.get("text"), str)
    ]
    return separator.join(texts)


def parse_data_uri(url: str) -> tuple[str, str] | None:
    """``data:<media type>;base64,<data>`` -> (media type, data); None for anything else."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    if not comma:
        return None
    media_type, _, encoding = header.partition(";")
    if encoding.lower() != "base64" or not media_type:
        return None
    return media_type.lower(), data


def data_uri(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def dump_arguments(value: Any) -> str:
    """Tool-call arguments as OpenAI sends them: compact JSON text, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load_arguments(arguments: Any) -> JSONObject:
    """Parsed tool-call arguments; anything that is not a JSON object becomes ``{}``, and so
    does an object nested too deeply to be written back (an upstream's, not the caller's)."""
    if isinstance(arguments, str) and arguments.strip():
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            return {}
    if not isinstance(arguments, dict) or too_deep(arguments):
        return {}
    return arguments


def chunk(
    *,
    id: str,
    created: int,
    model: str,
    delta: ChunkDelta,
    finish_reason: FinishReason | None = None,
) -> ChatCompletionChunk:
    """One ``chat.completion.chunk`` with a single choice."""
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
