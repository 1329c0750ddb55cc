"""OpenAI Chat Completions -> Anthropic Messages: requests, responses and streams.

Two callers use this module. An OpenAI caller on an Anthropic channel has its request converted
with :func:`chat_request_to_claude`. A ``/v1/messages`` caller on an OpenAI-compatible channel has
the upstream answer converted back with :func:`chat_response_to_message` or, chunk by chunk, with
:class:`ChatStreamToClaude`. Nothing is fetched: image URLs travel as Claude ``url`` sources.
"""

from __future__ import annotations

import uuid
from types import MappingProxyType
from typing import Any, Final

from newapi.protocol.claude import ClaudeEvent, Message, StopReason, event, text_block
from newapi.protocol.convert.claude_to_openai import StreamError
from newapi.protocol.openai import JSONObject, load_arguments, parse_data_uri, text_of
from newapi.protocol.usage import Usage, from_openai, to_claude

__all__ = [
    "ChatStreamToClaude",
    "chat_request_to_claude",
    "chat_response_to_message",
    "stop_reason_from_openai",
]

# reasoning_effort -> thinking budget (new-api); Anthropic's minimum budget is 1024.
EFFORT_BUDGETS: Final = MappingProxyType({"low": 1280, "medium": 2048, "high": 4096})
MIN_THINKING_BUDGET: Final = 1024
# "-thinking" model suffix: budget = 80 % of max_tokens, max_tokens at least 1280.
THINKING_MIN_MAX_TOKENS: Final = 1280
THINKING_BUDGET_RATIO: Final = 0.8
WEB_SEARCH_MAX_USES: Final = MappingProxyType({"low": 1, "medium": 5, "high": 10})
EMPTY_CONTENT: Final = "..."  # Claude rejects empty turns


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# ---------------------------------------------------------------- request: OpenAI -> Claude


def chat_request_to_claude(
    body: JSONObject,
    *,
    upstream_model: str,
    default_max_tokens: int = 8192,
    thinking: bool = False,
) -> JSONObject:
    """A chat-completions body as a Messages body for an Anthropic channel.

    ``thinking`` is set by the relay for a ``-thinking`` model name (suffix already stripped).
    Fields Claude has no equivalent for (n, seed, penalties, response_format...) are dropped.
    """
    system, messages = _claude_messages(_dicts(body.get("messages")))
    max_tokens = _positive_int(body.get("max_completion_tokens")) or _positive_int(
        body.get("max_tokens")
    )
    request: JSONObject = {"model": upstream_model, "max_tokens": max_tokens or default_max_tokens}
    if system:
        request["system"] = system
    request["messages"] = messages
    for field in ("temperature", "top_p", "top_k"):
        value = body.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            request[field] = value
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    stop_sequences = [s for s in stops if isinstance(s, str) and s.strip()]
    if stop_sequences:
        request["stop_sequences"] = stop_sequences
    if isinstance(body.get("stream"), bool):
        request["stream"] = body["stream"]
    _copy_tools(body, request)
    _apply_thinking(body, request, thinking=thinking)
    return request


def _claude_messages(raw: list[JSONObject]) -> tuple[list[JSONObject], list[JSONObject]]:
    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for message in raw:
        role = message.get("role") or "user"
        content = message.get("content")
        if role in ("system", "developer"):
            system.extend(_text_blocks(content))
        elif role == "tool":
            _append_turn(turns, "user", [_tool_result(message)])
        elif role == "assistant":
            _append_turn(turns, "assistant", _assistant_content(message))
        else:
            _append_turn(turns, "user", _user_content(content))
    for turn in turns:
        if turn["content"] in ("", []):
            turn["content"] = EMPTY_CONTENT
    if turns and turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": EMPTY_CONTENT})
    return system, turns


def _append_turn(turns: list[JSONObject], role: str, content: str | list[JSONObject]) -> None:
    """Claude wants alternating roles: a same-role message joins the previous turn."""
    if not turns or turns[-1]["role"] != role:
        turns.append({"role": role, "content": content})
        return
    previous = turns[-1]["content"]
    if isinstance(previous, str) and isinstance(content, str):
        turns[-1]["content"] = " ".join(text for text in (previous, content) if text)
        return
    merged = _as_blocks(previous) + _as_blocks(content)
    if role == "user":  # tool results must open the turn that answers a tool_use
        merged = [b for b in merged if b["type"] == "tool_result"] + [
            b for b in merged if b["type"] != "tool_result"
        ]
    turns[-1]["content"] = merged


def _as_blocks(content: str | list[JSONObject]) -> list[JSONObject]:
    if isinstance(content, str):
        return [dict(text_block(content))] if content else []
    return list(content)


def _text_blocks(content: Any) -> list[JSONObject]:
    if isinstance(content, str):
        return [dict(text_block(content))] if content else []
    return [
        _with_cache_control(dict(text_block(part["text"])), part)
        for part in _dicts(content)
        if part.get("type") in ("text", "refusal") and isinstance(part.get("text"), str)
        if part["text"]
    ]


def _with_cache_control(block: JSONObject, part: JSONObject) -> JSONObject:
    """Keep a client's Anthropic-style ``cache_control`` marker (OpenRouter convention)."""
    if isinstance(part.get("cache_control"), dict):
        block["cache_control"] = part["cache_control"]
    return block


def _user_content(content: Any) -> str | list[JSONObject]:
    if isinstance(content, str):
        return content
    blocks = [block for part in _dicts(content) if (block := _user_block(part)) is not None]
    return blocks


def _user_block(part: JSONObject) -> JSONObject | None:
    match part.get("type"):
        case "text" | "refusal":
            text = part.get("text")
            if not isinstance(text, str) or not text:
                return None
            return _with_cache_control(dict(text_block(text)), part)
        case "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            block = _media_block(url) if isinstance(url, str) else None
            return _with_cache_control(block, part) if block else None
        case "file":
            return _file_block(part.get("file"))
        case _:  # input_audio and anything else Claude cannot take
            return None


def _media_block(url: str) -> JSONObject | None:
    """An image by URL stays a URL (never fetched); a data URI becomes a base64 source."""
    parsed = parse_data_uri(url)
    if parsed is None:
        if url.startswith(("http://", "https://")):
            return {"type": "image", "source": {"type": "url", "url": url}}
        return None
    media_type, data = parsed
    source = {"type": "base64", "media_type": media_type, "data": data}
    if media_type == "application/pdf":
        return {"type": "document", "source": source}
    return {"type": "image", "source": source} if media_type.startswith("image/") else None


def _file_block(file: Any) -> JSONObject | None:
    if not isinstance(file, dict) or not isinstance(file.get("file_data"), str):
        return None
    file_data: str = file["file_data"]
    if file_data.startswith("data:"):
        return _media_block(file_data)
    filename = file.get("filename")
    if isinstance(filename, str) and filename.lower().endswith(".pdf"):
        source = {"type": "base64", "media_type": "application/pdf", "data": file_data}
        return {"type": "document", "source": source}
    return None


def _tool_result(message: JSONObject) -> JSONObject:
    block: JSONObject = {
        "type": "tool_result",
        "tool_use_id": str(message.get("tool_call_id") or ""),
    }
    content = message.get("content")
    if isinstance(content, str) and content:
        block["content"] = content
    elif isinstance(content, list):
        blocks = [b for part in _dicts(content) if (b := _user_block(part)) is not None]
        if blocks:
            block["content"] = blocks
    return block


def _assistant_content(message: JSONObject) -> str | list[JSONObject]:
    content = message.get("content")
    calls = [
        {
            "type": "tool_use",
            "id": str(call.get("id") or ""),
            "name": str(function.get("name") or ""),
            "input": load_arguments(function.get("arguments")),  # invalid JSON -> {}
        }
        for call in _dicts(message.get("tool_calls"))
        if isinstance(function := call.get("function"), dict)
    ]
    if not calls and isinstance(content, str):
        return content
    return _text_blocks(content) + calls


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    tools = [tool for raw in _dicts(body.get("tools")) if (tool := _claude_tool(raw)) is not None]
    search = _web_search_tool(body.get("web_search_options"))
    if search is not None:
        tools.append(search)
    if not tools:
        return  # Claude rejects tool_choice without tools
    request["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        request["tool_choice"] = choice


def _claude_tool(tool: JSONObject) -> JSONObject | None:
    function = tool.get("function")
    if tool.get("type", "function") != "function" or not isinstance(function, dict):
        return None
    if not isinstance(function.get("name"), str) or not function["name"]:
        return None
    converted: JSONObject = {"name": function["name"]}
    if isinstance(function.get("description"), str) and function["description"]:
        converted["description"] = function["description"]
    parameters = function.get("parameters")
    converted["input_schema"] = (
        {"type": "object", **parameters}
        if isinstance(parameters, dict)
        else {"type": "object", "properties": {}}
    )
    return converted


def _web_search_tool(options: Any) -> JSONObject | None:
    if not isinstance(options, dict):
        return None
    tool: JSONObject = {"type": "web_search_20250305", "name": "web_search"}
    size = options.get("search_context_size")
    if isinstance(size, str) and size in WEB_SEARCH_MAX_USES:
        tool["max_uses"] = WEB_SEARCH_MAX_USES[size]
    location = options.get("user_location")
    approximate = location.get("approximate") if isinstance(location, dict) else None
    if isinstance(approximate, dict):
        fields = ("city", "region", "country", "timezone")
        tool["user_location"] = {"type": "approximate"} | {
            key: approximate[key]
            for key in fields
            if isinstance(approximate.get(key), str) and approximate[key]
        }
    return tool


def _tool_choice(choice: Any, parallel: Any) -> JSONObject | None:
    result: JSONObject | None = None
    match choice:
        case "auto":
            result = {"type": "auto"}
        case "required":
            result = {"type": "any"}
        case "none":
            result = {"type": "none"}
        case {"function": {"name": str(name)}}:
            result = {"type": "tool", "name": name}
    if isinstance(parallel, bool):
        result = result or {"type": "auto"}
        if result["type"] != "none":  # type none takes no other fields
            result["disable_parallel_tool_use"] = not parallel
    return result


def _apply_thinking(body: JSONObject, request: JSONObject, *, thinking: bool) -> None:
    budget: int | None = None
    if thinking:
        request["max_tokens"] = max(request["max_tokens"], THINKING_MIN_MAX_TOKENS)
        budget = int(request["max_tokens"] * THINKING_BUDGET_RATIO)
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in EFFORT_BUDGETS:
        budget = EFFORT_BUDGETS[effort]
    reasoning = body.get("reasoning")  # OpenRouter style: an explicit budget wins
    if isinstance(reasoning, dict) and _positive_int(reasoning.get("max_tokens")):
        budget = max(reasoning["max_tokens"], MIN_THINKING_BUDGET)
    if budget is None:
        return
    if request["max_tokens"] <= budget:  # Claude needs budget < max_tokens; budget comes on top
        request["max_tokens"] += budget
    request["thinking"] = {"type": "enabled", "budget_tokens": budget}
    # Thinking is incompatible with a changed temperature, top_k and most top_p values.
    request["temperature"] = 1
    request.pop("top_p", None)
    request.pop("top_k", None)


# ---------------------------------------------------------------- response: OpenAI -> Claude


def stop_reason_from_openai(finish_reason: Any, *, has_tool_use: bool = False) -> StopReason:
    match finish_reason:
        case "length":
            return "max_tokens"
        case "tool_calls" | "function_call":
            return "tool_use"
        case "content_filter":
            return "refusal"
        case _:  # stop, or none at all; some upstreams say "stop" after tool calls
            return "tool_use" if has_tool_use else "end_turn"


def chat_response_to_message(chat: JSONObject, *, model: str) -> Message:
    """A ``chat.completion`` as a Claude ``message`` (usage in Anthropic semantics)."""
    choices = _dicts(chat.get("choices"))
    choice = choices[0] if choices else {}
    reply = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content: list[JSONObject] = []
    reasoning = reply.get("reasoning_content") or reply.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = text_of(reply.get("content")) or reply.get("refusal") or ""
    if isinstance(text, str) and text:
        content.append(dict(text_block(text)))
    for position, call in enumerate(_dicts(reply.get("tool_calls"))):
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{position}"),
                "name": str(function.get("name") or ""),
                "input": load_arguments(function.get("arguments")),  # invalid JSON -> {}
            }
        )
    has_tool_use = any(block["type"] == "tool_use" for block in content)
    return {
        "id": str(chat.get("id") or ""),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason_from_openai(
            choice.get("finish_reason"), has_tool_use=has_tool_use
        ),
        "stop_sequence": None,
        "usage": to_claude(from_openai(chat.get("usage"))),
    }


# ---------------------------------------------------------------- stream: OpenAI -> Claude


class ChatStreamToClaude:
    """OpenAI chunks in, Anthropic SSE events out, in Anthropic's order.

    Holds only the open block (its kind, index and, for a tool call, the OpenAI index and id),
    the finish reason and the latest usage; text is never accumulated. Everything that closes
    the message (last ``content_block_stop``, ``message_delta``, ``message_stop``) comes from
    :meth:`finish`, so a usage-only chunk after the finish reason is still counted.
    """

    def __init__(self, *, model: str, prompt_estimate: int) -> None:
        self._model = model
        self._prompt_estimate = max(prompt_estimate, 0)
        self._started = False
        self._finished = False
        self._index = 0  # the open block's index, or the next block's when none is open
        self._open: str | None = None  # "text" | "thinking" | "tool_use"
        self._tool_index: int | None = None  # OpenAI index of the open (or last) tool call
        self._tool_id: str | None = None
        self._saw_tool_use = False
        self._finish_reason: str | None = None
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        """Usage from the upstream's usage chunk (the latest non-zero), else None."""
        return self._usage

    def feed(self, chunk: JSONObject) -> list[ClaudeEvent]:
        error = chunk.get("error")
        if isinstance(error, dict):
            raise StreamError(
                str(error.get("type") or error.get("code") or "api_error"),
                str(error.get("message") or "upstream stream error"),
            )
        if self._finished:
            return []
        self._read_usage(chunk.get("usage"))
        events = [] if self._started else [self._message_start(chunk)]
        choice = next((c for c in _dicts(chunk.get("choices")) if c.get("index", 0) == 0), None)
        if choice is None:
            return events
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events += self._block_delta(
                "thinking", {"type": "thinking_delta", "thinking": reasoning}
            )
        if isinstance(delta.get("content"), str) and delta["content"]:
            events += self._block_delta("text", {"type": "text_delta", "text": delta["content"]})
        for call in _dicts(delta.get("tool_calls")):
            events += self._tool_call(call)
        if isinstance(choice.get("finish_reason"), str):
            self._finish_reason = choice["finish_reason"]
        return events

    def finish(self, *, estimate: Usage | None = None) -> list[ClaudeEvent]:
        """Close the message; ``estimate`` stands in when the upstream sent no usage."""
        if self._finished:
            return []
        self._finished = True
        events = [] if self._started else [self._message_start({})]
        events += self._close_block()
        usage = self._usage or estimate or Usage(prompt_tokens=self._prompt_estimate)
        stop_reason = stop_reason_from_openai(self._finish_reason, has_tool_use=self._saw_tool_use)
        events.append(
            event(
                "message_delta",
                delta={"stop_reason": stop_reason, "stop_sequence": None},
                usage=to_claude(usage),
            )
        )
        events.append(event("message_stop"))
        return events

    def _read_usage(self, raw: Any) -> None:
        usage = from_openai(raw)
        if not usage.is_empty:
            self._usage = usage

    def _message_start(self, chunk: JSONObject) -> ClaudeEvent:
        self._started = True
        usage = self._usage or Usage(prompt_tokens=self._prompt_estimate)
        message = {
            "id": str(chunk.get("id") or f"msg_{uuid.uuid4().hex[:24]}"),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": to_claude(usage) | {"output_tokens": 0},
        }
        return event("message_start", message=message)

    def _close_block(self) -> list[ClaudeEvent]:
        if self._open is None:
            return []
        stop = event("content_block_stop", index=self._index)
        self._index += 1
        self._open = None
        return [stop]

    def _open_block(self, kind: str, block: JSONObject) -> list[ClaudeEvent]:
        events = self._close_block()
        events.append(event("content_block_start", index=self._index, content_block=block))
        self._open = kind
        return events

    def _block_delta(self, kind: str, delta: JSONObject) -> list[ClaudeEvent]:
        events: list[ClaudeEvent] = []
        if self._open != kind:
            empty = {"type": "text", "text": ""}
            if kind == "thinking":
                empty = {"type": "thinking", "thinking": "", "signature": ""}
            events = self._open_block(kind, empty)
        events.append(event("content_block_delta", index=self._index, delta=delta))
        return events

    def _tool_call(self, call: JSONObject) -> list[ClaudeEvent]:
        index = call.get("index") if isinstance(call.get("index"), int) else None
        call_id = call.get("id") if isinstance(call.get("id"), str) and call.get("id") else None
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = str(function.get("name") or "")
        events: list[ClaudeEvent] = []
        if self._starts_new_call(index, call_id):
            if self._is_late_piece(index, call_id, name):
                return []  # a piece of a call whose block is already closed: nowhere to put it
            block = {
                "type": "tool_use",
                "id": call_id or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": name,
                "input": {},
            }
            events = self._open_block("tool_use", block)
            self._tool_index = index if index is not None else (self._tool_index or 0)
            self._tool_id = call_id
            self._saw_tool_use = True
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(event("content_block_delta", index=self._index, delta=delta))
        return events

    def _starts_new_call(self, index: int | None, call_id: str | None) -> bool:
        if self._open != "tool_use":
            return True
        if call_id is not None and self._tool_id is not None and call_id != self._tool_id:
            return True  # some upstreams number every call 0 but give each its own id
        return index is not None and index != self._tool_index

    def _is_late_piece(self, index: int | None, call_id: str | None, name: str) -> bool:
        if index is None or self._tool_index is None:
            return False
        if index < self._tool_index:
            return True
        return index == self._tool_index and call_id is None and not name
