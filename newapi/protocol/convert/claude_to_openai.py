"""Anthropic Messages -> OpenAI Chat Completions: requests, responses and streams.

Two callers use this module. A ``/v1/messages`` caller on an OpenAI-compatible channel has its
request converted with :func:`messages_request_to_chat`. An OpenAI caller on an Anthropic
channel has the upstream answer converted back with :func:`claude_response_to_chat` or, event by
event, with :class:`ClaudeStreamToChat`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from newapi.protocol.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    ChunkDelta,
    FinishReason,
    JSONObject,
    ToolCall,
    ToolCallDelta,
    chunk,
    data_uri,
    dump_arguments,
)
from newapi.protocol.usage import Usage, from_claude, to_openai

__all__ = [
    "ClaudeStreamToChat",
    "StreamError",
    "claude_response_to_chat",
    "finish_reason_from_claude",
    "messages_request_to_chat",
]


class StreamError(Exception):
    """An upstream ``error`` inside a stream; the relay aborts the stream (new-api: HTTP 500)."""

    def __init__(self, type: str, message: str) -> None:
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message


def finish_reason_from_claude(stop_reason: Any) -> FinishReason:
    match stop_reason:
        case "max_tokens" | "model_context_window_exceeded":
            return "length"
        case "tool_use":
            return "tool_calls"
        case "refusal":
            return "content_filter"
        case _:  # end_turn, stop_sequence, pause_turn
            return "stop"


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _texts(blocks: Iterable[JSONObject]) -> list[str]:
    return [
        block["text"]
        for block in blocks
        if block.get("type") == "text" and isinstance(block.get("text"), str)
    ]


# ---------------------------------------------------------------- request: Claude -> OpenAI


def messages_request_to_chat(
    body: JSONObject, *, upstream_model: str, include_usage: bool = True
) -> JSONObject:
    """A ``/v1/messages`` body as a chat-completions body for an OpenAI-compatible channel."""
    request: JSONObject = {"model": upstream_model, "messages": _chat_messages(body)}
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        request["max_tokens"] = max_tokens
    for field in ("temperature", "top_p"):
        value = body.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            request[field] = value
    sequences = body.get("stop_sequences")
    stop = [s for s in sequences if isinstance(s, str) and s] if isinstance(sequences, list) else []
    if stop:
        request["stop"] = stop
    _copy_tools(body, request)
    effort = _reasoning_effort(body.get("thinking"), body.get("output_config"))
    if effort:
        request["reasoning_effort"] = effort
    if body.get("stream") is True:
        request["stream"] = True
        if include_usage:
            request["stream_options"] = {"include_usage": True}
    return request


def _chat_messages(body: JSONObject) -> list[JSONObject]:
    messages: list[JSONObject] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    tool_names: dict[str, str] = {}  # tool_use id -> name, for the tool messages that answer it
    for message in _dicts(body.get("messages")):
        content = message.get("content")
        role = message.get("role")
        if role == "assistant":
            converted = _assistant_message(content, tool_names)
            if converted is not None:
                messages.append(converted)
        elif role == "system":
            # Claude Code's mid-conversation system turns (a beta): OpenAI takes a system
            # message anywhere, so it stays in place instead of turning into user text.
            text = _system_text(content)
            if text:
                messages.append({"role": "system", "content": text})
        else:
            messages.extend(_user_messages(content, tool_names))
    return messages


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n".join(text for text in _texts(_dicts(system)) if text)


def _assistant_message(content: Any, tool_names: dict[str, str]) -> ChatMessage | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    blocks = _dicts(content)
    calls = _tool_calls(blocks)
    for call in calls:
        tool_names[call["id"]] = call["function"]["name"]
    text = "".join(_texts(blocks))
    if not calls:
        # Thinking-only turns carry nothing an OpenAI upstream accepts back.
        return {"role": "assistant", "content": text} if text else None
    return {"role": "assistant", "content": text or None, "tool_calls": calls}


def _user_messages(content: Any, tool_names: dict[str, str]) -> list[JSONObject]:
    """A user turn -> its ``tool`` messages first (they answer the last turn), then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    messages: list[JSONObject] = []
    parts: list[JSONObject] = []
    for block in _dicts(content):
        if block.get("type") == "tool_result":
            messages.append(_tool_message(block, tool_names))
        else:
            part = _content_part(block)
            if part is not None:
                parts.append(part)
    if parts:
        if all(part["type"] == "text" for part in parts):
            messages.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
        else:
            messages.append({"role": "user", "content": parts})
    return messages


def _tool_message(block: JSONObject, tool_names: dict[str, str]) -> JSONObject:
    call_id = str(block.get("tool_use_id") or "")
    message: JSONObject = {"role": "tool", "tool_call_id": call_id}
    if tool_names.get(call_id):
        message["name"] = tool_names[call_id]
    content = block.get("content")
    if isinstance(content, str):
        message["content"] = content
    elif content is None:
        message["content"] = ""
    elif isinstance(content, list) and all(
        isinstance(item, dict) and item.get("type") in _TEXT_RESULT_BLOCKS for item in content
    ):
        message["content"] = "\n".join(_result_texts(content))
    else:
        message["content"] = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return message


# Tool-result blocks an OpenAI tool message can carry as text.
_TEXT_RESULT_BLOCKS = ("text", "tool_reference")


def _result_texts(blocks: list[JSONObject]) -> list[str]:
    """Text blocks as they are; a ``tool_reference`` (a tool search found that deferred tool,
    which is sent to the upstream from then on) as a line naming it."""
    texts: list[str] = []
    for block in blocks:
        if block.get("type") == "tool_reference":
            texts.append(f"Tool loaded: {block.get('tool_name', '')}")
        elif isinstance(block.get("text"), str):
            texts.append(block["text"])
    return texts


def _referenced_tools(body: JSONObject) -> set[str]:
    """Names of deferred tools a tool search has loaded: ``tool_reference`` blocks in results."""
    names: set[str] = set()
    for message in _dicts(body.get("messages")):
        for block in _dicts(message.get("content")):
            if block.get("type") == "tool_result":
                for item in _dicts(block.get("content")):
                    if item.get("type") == "tool_reference" and isinstance(
                        item.get("tool_name"), str
                    ):
                        names.add(item["tool_name"])
    return names


def _content_part(block: JSONObject) -> JSONObject | None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return {"type": "text", "text": text} if isinstance(text, str) and text else None
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    if kind == "image":
        url = _source_url(source)
        return {"type": "image_url", "image_url": {"url": url}} if url else None
    if kind == "document":
        return _document_part(source)
    return None


def _source_url(source: JSONObject) -> str | None:
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return source["url"]
    media_type, data = source.get("media_type"), source.get("data")
    if source.get("type") == "base64" and isinstance(media_type, str) and isinstance(data, str):
        return data_uri(media_type, data)
    return None


def _document_part(source: JSONObject) -> JSONObject | None:
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]} if source["data"] else None
    url = _source_url(source)
    if url is None or not url.startswith("data:"):
        return None
    return {"type": "file", "file": {"filename": "document.pdf", "file_data": url}}


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    loaded = _referenced_tools(body)
    # A deferred tool (``defer_loading``) is outside Claude's context until a tool search
    # loads it; an OpenAI model sees every function it is given, so it gets only loaded ones.
    offered = [
        tool
        for tool in _dicts(body.get("tools"))
        if tool.get("defer_loading") is not True or tool.get("name") in loaded
    ]
    tools = [_function_tool(tool) for tool in offered]
    functions = [tool for tool in tools if tool is not None]
    if not functions:
        return
    request["tools"] = functions
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    match choice.get("type"):
        case "auto":
            request["tool_choice"] = "auto"
        case "any":
            request["tool_choice"] = "required"
        case "none":
            request["tool_choice"] = "none"
        case "tool" if isinstance(choice.get("name"), str):
            request["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    if choice.get("disable_parallel_tool_use") is True:
        request["parallel_tool_calls"] = False


def _function_tool(tool: JSONObject) -> JSONObject | None:
    """A client tool as an OpenAI function; server tools (web search, bash...) have none."""
    if tool.get("type") not in (None, "custom") or not isinstance(tool.get("name"), str):
        return None
    schema = tool.get("input_schema")
    function: JSONObject = {"name": tool["name"]}
    if isinstance(tool.get("description"), str) and tool["description"]:
        function["description"] = tool["description"]
    function["parameters"] = (
        schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
    )
    return {"type": "function", "function": function}


# Claude's ``output_config.effort`` levels as OpenAI reasoning efforts ("max" has no peer).
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high"}


def _reasoning_effort(thinking: Any, output_config: Any = None) -> str | None:
    if not isinstance(thinking, dict):
        return None
    if thinking.get("type") == "adaptive":
        effort = output_config.get("effort") if isinstance(output_config, dict) else None
        # The caller's effort level when it gave one; else keep the intent (as new-api).
        return _EFFORTS.get(effort, "high") if isinstance(effort, str) else "high"
    budget = thinking.get("budget_tokens")
    if thinking.get("type") != "enabled" or not isinstance(budget, int) or budget <= 0:
        return None
    if budget <= 1280:
        return "low"
    return "medium" if budget <= 2048 else "high"


# ---------------------------------------------------------------- response: Claude -> OpenAI


def claude_response_to_chat(
    message: JSONObject, *, model: str, created: int | None = None
) -> ChatCompletion:
    """A Claude ``message`` as a ``chat.completion`` (usage in OpenAI semantics)."""
    blocks = _dicts(message.get("content"))
    calls = _tool_calls(blocks)
    text = "".join(_texts(blocks))
    reply: ChatMessage = {"role": "assistant", "content": text if text or not calls else None}
    thinking = "".join(
        block["thinking"]
        for block in blocks
        if block.get("type") == "thinking" and isinstance(block.get("thinking"), str)
    )
    if thinking:
        reply["reasoning_content"] = thinking
    if calls:
        reply["tool_calls"] = calls
    finish_reason = finish_reason_from_claude(message.get("stop_reason"))
    return {
        "id": str(message.get("id") or ""),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {"index": 0, "message": reply, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": to_openai(from_claude(message.get("usage"))),
    }


def _tool_calls(blocks: list[JSONObject]) -> list[ToolCall]:
    return [
        {
            "id": str(block.get("id") or ""),
            "type": "function",
            "function": {
                "name": str(block.get("name") or ""),
                "arguments": dump_arguments(
                    block["input"] if isinstance(block.get("input"), dict) else {}
                ),
            },
        }
        for block in blocks
        if block.get("type") == "tool_use"
    ]


# ---------------------------------------------------------------- stream: Claude -> OpenAI


class ClaudeStreamToChat:
    """Claude SSE events in, ``chat.completion.chunk`` dicts out.

    Holds only the message id, the merged usage counters and which tool call the open content
    block is; text is never accumulated. Tool calls are numbered 0, 1, ... in the order their
    ``tool_use`` blocks start.
    """

    def __init__(self, *, model: str, include_usage: bool, created: int | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._usage_fields: JSONObject = {}
        self._tool_calls = 0  # tool_use blocks started so far
        self._open_tool: int | None = None  # tool-call index of the open tool_use block

    @property
    def usage(self) -> Usage:
        """Usage seen so far: message_start, then message_delta (the latest non-zero wins)."""
        return from_claude(self._usage_fields)

    def feed(self, event: JSONObject) -> list[ChatCompletionChunk]:
        match event.get("type"):
            case "message_start":
                return self._on_message_start(event)
            case "content_block_start":
                return self._on_block_start(event)
            case "content_block_delta":
                return self._on_block_delta(event)
            case "content_block_stop":
                self._open_tool = None
                return []
            case "message_delta":
                return self._on_message_delta(event)
            case "error":
                raise _stream_error(event)
            case _:  # ping, message_stop, unknown future events
                return []

    def finish(self) -> list[ChatCompletionChunk]:
        """The final usage chunk (``choices: []``) when the caller asked for usage."""
        if not self._include_usage:
            return []
        final = self._chunk({})
        final["choices"] = []
        final["usage"] = to_openai(self.usage)
        return [final]

    def _chunk(
        self, delta: ChunkDelta, finish_reason: FinishReason | None = None
    ) -> ChatCompletionChunk:
        return chunk(
            id=self._id,
            created=self._created,
            model=self._model,
            delta=delta,
            finish_reason=finish_reason,
        )

    def _merge_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key, value in usage.items():
            if isinstance(value, dict):
                if any(isinstance(v, int) and v > 0 for v in value.values()):
                    self._usage_fields[key] = value
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self._usage_fields[key] = value

    def _on_message_start(self, event: JSONObject) -> list[ChatCompletionChunk]:
        message = event.get("message")
        if isinstance(message, dict):
            self._id = str(message.get("id") or "")
            self._merge_usage(message.get("usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_block_start(self, event: JSONObject) -> list[ChatCompletionChunk]:
        block = event.get("content_block")
        if not isinstance(block, dict):
            return []
        kind = block.get("type")
        if kind == "tool_use":
            self._open_tool = self._tool_calls
            self._tool_calls += 1
            call: ToolCallDelta = {
                "index": self._open_tool,
                "id": str(block.get("id") or ""),
                "type": "function",
                "function": {"name": str(block.get("name") or ""), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "text" and isinstance(block.get("text"), str) and block["text"]:
            return [self._chunk({"content": block["text"]})]
        if kind == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"]:
            return [self._chunk({"reasoning_content": block["thinking"]})]
        return []

    def _on_block_delta(self, event: JSONObject) -> list[ChatCompletionChunk]:
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
            return [self._chunk({"content": delta["text"]})]
        if (
            kind == "thinking_delta"
            and isinstance(delta.get("thinking"), str)
            and delta["thinking"]
        ):
            return [self._chunk({"reasoning_content": delta["thinking"]})]
        pieces = delta.get("partial_json")
        if kind == "input_json_delta" and self._open_tool is not None and pieces:
            piece: ToolCallDelta = {
                "index": self._open_tool,
                "function": {"arguments": str(pieces)},
            }
            return [self._chunk({"tool_calls": [piece]})]
        return []  # signature_delta, citations_delta: nothing an OpenAI caller can use

    def _on_message_delta(self, event: JSONObject) -> list[ChatCompletionChunk]:
        self._merge_usage(event.get("usage"))
        delta = event.get("delta")
        if not isinstance(delta, dict) or not delta.get("stop_reason"):
            return []
        return [self._chunk({}, finish_reason_from_claude(delta["stop_reason"]))]


def _stream_error(event: JSONObject) -> StreamError:
    error = event.get("error")
    if not isinstance(error, dict):
        return StreamError("api_error", "upstream stream error")
    return StreamError(
        str(error.get("type") or "api_error"), str(error.get("message") or "upstream stream error")
    )
