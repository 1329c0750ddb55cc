"""OpenAI Responses -> OpenAI Chat Completions (the hub): requests, answers and streams.

Two callers use this module. A ``/v1/responses`` caller (Codex CLI) on a channel that speaks
only chat completions, Claude or Gemini has its request converted with
:func:`responses_request_to_chat`. A chat (or, through the hub, Claude or Gemini) caller on a
model served only through the Responses API has the upstream answer converted back with
:func:`responses_response_to_chat` or, event by event, with :class:`ResponsesStreamToChat`.

What the hub cannot carry is dropped (see ``docs`` of each function): OpenAI's encrypted
reasoning (no other provider can read it), item ids and statuses, ``item_reference`` items
(no server state here), server-side tools (file search, computer use, MCP, code interpreter,
image generation) and their call items, and ``store``/``include``/``metadata`` (answered by
the Responses caller side itself, never by a chat upstream).
"""

from __future__ import annotations

import json
import time
from typing import Any

from newapi.protocol.convert.claude_to_openai import StreamError
from newapi.protocol.openai import ChatCompletionChunk, ChunkDelta, FinishReason, JSONObject, chunk
from newapi.protocol.responses import (
    CUSTOM_INPUT,
    LOCAL_SHELL,
    LOCAL_SHELL_DESCRIPTION,
    LOCAL_SHELL_PARAMETERS,
    custom_arguments,
    custom_tool_parameters,
    decode_signatures,
    local_shell_arguments,
)
from newapi.protocol.usage import Usage, from_openai, to_openai

__all__ = [
    "ResponsesStreamToChat",
    "responses_request_to_chat",
    "responses_response_to_chat",
]

WEB_SEARCH_TOOLS = ("web_search", "web_search_preview", "web_search_2025_08_26")


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# ---------------------------------------------------------------- request: Responses -> hub


def responses_request_to_chat(
    body: JSONObject, *, upstream_model: str, include_usage: bool = True
) -> JSONObject:
    """A ``/v1/responses`` body as a chat-completions (hub) body.

    ``instructions`` become the first system message; ``developer`` messages keep their role.
    Custom tools and ``local_shell`` become function tools (see ``newapi.protocol.responses``);
    web search becomes ``web_search_options``. ``max_output_tokens`` becomes ``max_tokens``,
    ``reasoning.effort`` ``reasoning_effort``, ``text.format`` ``response_format`` and
    ``text.verbosity`` ``verbosity``; ``prompt_cache_key``, ``safety_identifier``, ``user`` and
    ``service_tier`` keep their names (chat completions defines them too).
    """
    request: JSONObject = {"model": upstream_model, "messages": _chat_messages(body)}
    max_tokens = _positive_int(body.get("max_output_tokens"))
    if max_tokens:
        request["max_tokens"] = max_tokens
    for field in ("temperature", "top_p"):
        if _number(body.get(field)):
            request[field] = body[field]
    if isinstance(top := body.get("top_logprobs"), int) and not isinstance(top, bool) and top > 0:
        request["logprobs"] = True
        request["top_logprobs"] = top
    _copy_tools(body, request)
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if isinstance(effort, str) and effort:
        request["reasoning_effort"] = effort
    _copy_text(body.get("text"), request)
    for field in ("prompt_cache_key", "safety_identifier", "user", "service_tier"):
        if isinstance(body.get(field), str) and body[field]:
            request[field] = body[field]
    if body.get("stream") is True:
        request["stream"] = True
        if include_usage:
            request["stream_options"] = {"include_usage": True}
    return request


def _chat_messages(body: JSONObject) -> list[JSONObject]:
    messages: list[JSONObject] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    signatures: dict[str, str] = {}
    for item in _dicts(items):
        if item.get("type") == "reasoning":
            signatures.update(decode_signatures(item.get("encrypted_content")))
    conversation = _Conversation(signatures)
    for item in _dicts(items):
        conversation.add(item)
    return messages + conversation.close()


class _Conversation:
    """Flat Responses items folded into chat messages.

    Reasoning, assistant text and the function calls that follow them form one assistant
    message (a parallel call pair is one message with two ``tool_calls``); any other item
    closes it.
    """

    def __init__(self, signatures: dict[str, str]) -> None:
        self.messages: list[JSONObject] = []
        self.pending: JSONObject | None = None  # the assistant message being built
        self.signatures = signatures
        self.call_names: dict[str, str] = {}

    def add(self, item: JSONObject) -> None:
        kind = item.get("type") or ("message" if "role" in item else None)
        match kind:
            case "message" if item.get("role") == "assistant":
                self._assistant_text(_assistant_text(item.get("content")))
            case "message":
                self._flush()
                self.messages.append(_input_message(item))
            case "reasoning":
                self._reasoning(_reasoning_text(item))
            case "function_call":
                self._call(item.get("call_id"), item.get("name"), item.get("arguments"))
            case "custom_tool_call":
                arguments = custom_arguments(item.get("input"))
                self._call(item.get("call_id"), item.get("name"), arguments)
            case "local_shell_call":
                arguments = local_shell_arguments(item.get("action"))
                self._call(item.get("call_id") or item.get("id"), LOCAL_SHELL, arguments)
            case "function_call_output" | "custom_tool_call_output" | "local_shell_call_output":
                self._flush()
                self.messages.append(self._tool_message(item))
            case _:  # item_reference, server tool calls, compaction: nothing a hub can carry
                pass

    def close(self) -> list[JSONObject]:
        self._flush()
        return self.messages

    def _flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and (pending.get("content") or pending.get("tool_calls")):
            self.messages.append(pending)  # a reasoning-only turn has nothing to send back

    def _assistant_text(self, text: str) -> None:
        if self.pending is not None and (self.pending["content"] or "tool_calls" in self.pending):
            self._flush()
        if self.pending is None:
            self.pending = {"role": "assistant", "content": None}
        self.pending["content"] = text

    def _reasoning(self, text: str) -> None:
        if self.pending is not None and (self.pending["content"] or "tool_calls" in self.pending):
            self._flush()
        if self.pending is None:
            self.pending = {"role": "assistant", "content": None}
        if text:
            previous = self.pending.get("reasoning_content")
            self.pending["reasoning_content"] = f"{previous}\n\n{text}" if previous else text

    def _call(self, call_id: Any, name: Any, arguments: Any) -> None:
        if self.pending is None:
            self.pending = {"role": "assistant", "content": None}
        call_id, name = str(call_id or ""), str(name or "")
        call: JSONObject = {
            "id": call_id,
            "type": "function",
            "function": {
                "name": name,
                "arguments": arguments if isinstance(arguments, str) else "",
            },
        }
        if self.signatures.get(call_id):
            call["extra_content"] = {"google": {"thought_signature": self.signatures[call_id]}}
        self.pending.setdefault("tool_calls", []).append(call)
        self.call_names[call_id] = name

    def _tool_message(self, item: JSONObject) -> JSONObject:
        call_id = str(item.get("call_id") or item.get("id") or "")
        message: JSONObject = {"role": "tool", "tool_call_id": call_id}
        if self.call_names.get(call_id):
            message["name"] = self.call_names[call_id]  # hub extension: Gemini needs the name
        message["content"] = _content(item.get("output"))
        return message


def _reasoning_text(item: JSONObject) -> str:
    """A reasoning item's readable text: its summary, else its raw reasoning text."""
    summary = [p["text"] for p in _dicts(item.get("summary")) if isinstance(p.get("text"), str)]
    if summary:
        return "\n\n".join(text for text in summary if text)
    raw = [p["text"] for p in _dicts(item.get("content")) if isinstance(p.get("text"), str)]
    return "".join(raw)


def _assistant_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = [
        part.get("text") if part.get("type") == "output_text" else part.get("refusal")
        for part in _dicts(content)
        if part.get("type") in ("output_text", "refusal", "input_text")
    ]
    return "".join(text for text in texts if isinstance(text, str))


def _input_message(item: JSONObject) -> JSONObject:
    role = item.get("role")
    role = role if role in ("system", "developer") else "user"
    content = _content(item.get("content"))
    if role != "user" and isinstance(content, list):  # system prompts are text
        content = "\n".join(p["text"] for p in content if p["type"] == "text")
    return {"role": role, "content": content}


def _content(content: Any) -> str | list[JSONObject]:
    """Input content (or a tool output) as chat content; all-text lists become one string."""
    if isinstance(content, str):
        return content
    parts = [part for raw in _dicts(content) if (part := _content_part(raw)) is not None]
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _content_part(part: JSONObject) -> JSONObject | None:
    match part.get("type"):
        case "input_text" | "output_text" | "text":
            text = part.get("text")
            return {"type": "text", "text": text} if isinstance(text, str) and text else None
        case "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                return None  # a file_id names an OpenAI upload no other provider can read
            image: JSONObject = {"url": url}
            if part.get("detail") in ("low", "high", "auto"):
                image["detail"] = part["detail"]
            return {"type": "image_url", "image_url": image}
        case "input_file":
            data = part.get("file_data")
            if not isinstance(data, str) or not data:
                return None  # file_id / file_url: nothing a chat upstream can fetch
            filename = part.get("filename") if isinstance(part.get("filename"), str) else None
            return {"type": "file", "file": {"filename": filename or "file", "file_data": data}}
        case "input_audio":
            audio = part.get("input_audio")
            return (
                {"type": "input_audio", "input_audio": audio} if isinstance(audio, dict) else None
            )
        case _:
            return None


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    tools: list[JSONObject] = []
    for tool in _dicts(body.get("tools")):
        kind = tool.get("type")
        if kind in WEB_SEARCH_TOOLS:
            # external_web_access false (Codex's default "cached" search) forbids live searches,
            # and web_search_options has no cached mode: the tool is left out.
            if tool.get("external_web_access") is not False:
                request["web_search_options"] = _web_search_options(tool)
        elif (converted := _function_tool(tool)) is not None:
            tools.append(converted)
    if not tools:
        return  # chat upstreams refuse tool_choice and parallel_tool_calls without tools
    request["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        request["tool_choice"] = choice
    if isinstance(body.get("parallel_tool_calls"), bool):
        request["parallel_tool_calls"] = body["parallel_tool_calls"]


def _function_tool(tool: JSONObject) -> JSONObject | None:
    kind = tool.get("type")
    if kind == LOCAL_SHELL:
        function: JSONObject = {
            "name": LOCAL_SHELL,
            "description": LOCAL_SHELL_DESCRIPTION,
            "parameters": LOCAL_SHELL_PARAMETERS,
        }
        return {"type": "function", "function": function}
    if kind not in ("function", "custom") or not isinstance(tool.get("name"), str):
        return None  # server-side tools (file search, MCP, computer use...) have no hub form
    function = {"name": tool["name"]}
    if isinstance(tool.get("description"), str) and tool["description"]:
        function["description"] = tool["description"]
    if kind == "custom":
        function["parameters"] = custom_tool_parameters(tool)
        return {"type": "function", "function": function}
    parameters = tool.get("parameters")
    function["parameters"] = (
        parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    )
    if isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _web_search_options(tool: JSONObject) -> JSONObject:
    options: JSONObject = {}
    if tool.get("search_context_size") in ("low", "medium", "high"):
        options["search_context_size"] = tool["search_context_size"]
    location = tool.get("user_location")
    if isinstance(location, dict):
        fields = ("city", "country", "region", "timezone")
        approximate = {k: location[k] for k in fields if isinstance(location.get(k), str)}
        if approximate:
            options["user_location"] = {"type": "approximate", "approximate": approximate}
    return options


def _tool_choice(choice: Any) -> Any:
    match choice:
        case "auto" | "none" | "required":
            return choice
        case {"type": "function" | "custom", "name": str(name)}:
            return {"type": "function", "function": {"name": name}}
        case {"type": LOCAL_SHELL}:
            return {"type": "function", "function": {"name": LOCAL_SHELL}}
        case {"type": "allowed_tools", "mode": "auto" | "required" as mode}:
            return mode  # the allowed subset is lost: every declared tool stays callable
        case _:
            return None


def _copy_text(text: Any, request: JSONObject) -> None:
    if not isinstance(text, dict):
        return
    if text.get("verbosity") in ("low", "medium", "high"):
        request["verbosity"] = text["verbosity"]
    fmt = text.get("format")
    if not isinstance(fmt, dict):
        return
    if fmt.get("type") == "json_object":
        request["response_format"] = {"type": "json_object"}
    elif fmt.get("type") == "json_schema":
        schema: JSONObject = {"name": str(fmt.get("name") or "response")}
        for field in ("description", "schema", "strict"):
            if fmt.get(field) is not None:
                schema[field] = fmt[field]
        request["response_format"] = {"type": "json_schema", "json_schema": schema}


# ---------------------------------------------------------------- answer: Responses -> hub


def responses_response_to_chat(
    response: JSONObject, *, model: str, created: int | None = None
) -> JSONObject:
    """A Responses ``response`` object as a ``chat.completion`` (usage in OpenAI semantics).

    Reasoning summaries (or raw reasoning text) become ``reasoning_content``; custom tool and
    ``local_shell`` calls become function tool calls (the forms of ``responses_request_to_chat``).
    """
    reasoning: list[str] = []
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[JSONObject] = []
    for item in _dicts(response.get("output")):
        kind = item.get("type")
        if kind == "reasoning" and (text := _reasoning_text(item)):
            reasoning.append(text)
        elif kind == "message":
            for part in _dicts(item.get("content")):
                if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                    refusals.append(part["refusal"])
        elif (call := _tool_call(item)) is not None:
            calls.append(call)
    text = "".join(texts)
    reply: JSONObject = {"role": "assistant", "content": text if text or not calls else None}
    if refusals:
        reply["refusal"] = "".join(refusals)
    if reasoning:
        reply["reasoning_content"] = "\n\n".join(reasoning)
    if calls:
        reply["tool_calls"] = calls
    return {
        "id": str(response.get("id") or ""),
        "object": "chat.completion",
        "created": _created(response, created),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": _finish_reason(response, bool(calls)),
                "logprobs": None,
            }
        ],
        "usage": to_openai(from_openai(response.get("usage"))),
    }


def _created(response: JSONObject, created: int | None) -> int:
    if created is not None:
        return created
    at = response.get("created_at")
    return int(at) if _number(at) else int(time.time())


def _tool_call(item: JSONObject) -> JSONObject | None:
    kind = item.get("type")
    if kind == "function_call":
        name, arguments = item.get("name"), item.get("arguments")
    elif kind == "custom_tool_call":
        name, arguments = item.get("name"), custom_arguments(item.get("input"))
    elif kind == "local_shell_call":
        name, arguments = LOCAL_SHELL, local_shell_arguments(item.get("action"))
    else:
        return None
    return {
        "id": str(item.get("call_id") or item.get("id") or ""),
        "type": "function",
        "function": {
            "name": str(name or ""),
            "arguments": arguments if isinstance(arguments, str) else "",
        },
    }


def _finish_reason(response: JSONObject, has_calls: bool) -> FinishReason:
    if has_calls:
        return "tool_calls"
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if response.get("status") == "incomplete" or reason:
        return "content_filter" if reason == "content_filter" else "length"
    return "stop"


# ---------------------------------------------------------------- stream: Responses -> hub


class _Call:
    """A streamed tool call: its hub index, its kind, and whether its arguments were sent."""

    __slots__ = ("index", "kind", "sent")

    def __init__(self, index: int, kind: str) -> None:
        self.index, self.kind, self.sent = index, kind, False


class ResponsesStreamToChat:
    """Responses stream events (JSON data, name in ``type``) in, hub chunks out.

    Text, reasoning and function-call arguments pass through delta by delta; a custom tool's
    input is streamed as the escaped string of ``{"input": "..."}``. ``response.completed`` or
    ``response.incomplete`` give the usage and the finish reason; ``response.failed`` and
    ``error`` events raise :class:`StreamError`.
    """

    def __init__(self, *, model: str, include_usage: bool, created: int | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._started = False
        self._streamed = False  # any content, reasoning or call reached the hub
        self._calls: dict[str, _Call] = {}  # item id -> call
        self._usage = Usage()
        self._finished = False
        self._closed = False

    @property
    def usage(self) -> Usage:
        """Usage from the terminal event (empty until it arrives)."""
        return self._usage

    @property
    def finished(self) -> bool:
        """True once ``response.completed`` or ``response.incomplete`` arrived."""
        return self._finished

    def feed(self, event: JSONObject) -> list[ChatCompletionChunk]:
        kind = event.get("type")
        if kind == "error":
            code = event.get("code") or "api_error"
            raise StreamError(str(code), str(event.get("message") or "upstream stream error"))
        if kind == "response.failed":
            raise _failed(event.get("response"))
        if self._finished:
            return []
        out = self._start(event) if not self._started else []
        return out + self._on(kind, event)

    def finish(self) -> list[ChatCompletionChunk]:
        """The final usage chunk (``choices: []``) when the caller asked for usage."""
        if not self._include_usage or self._closed:
            return []
        self._closed = True
        final = self._chunk({})
        final["choices"] = []
        final["usage"] = to_openai(self._usage)
        return [final]

    def _chunk(self, delta: ChunkDelta, reason: FinishReason | None = None) -> ChatCompletionChunk:
        return chunk(
            id=self._id, created=self._created, model=self._model, delta=delta, finish_reason=reason
        )

    def _start(self, event: JSONObject) -> list[ChatCompletionChunk]:
        self._started = True
        response = event.get("response")
        if isinstance(response, dict) and response.get("id"):
            self._id = str(response["id"])
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on(self, kind: Any, event: JSONObject) -> list[ChatCompletionChunk]:
        delta = event.get("delta")
        match kind:
            case "response.output_text.delta" if isinstance(delta, str) and delta:
                return self._delta({"content": delta})
            case "response.refusal.delta" if isinstance(delta, str) and delta:
                return self._delta({"refusal": delta})  # type: ignore[typeddict-unknown-key]
            case "response.reasoning_summary_text.delta" | "response.reasoning_text.delta":
                return self._delta({"reasoning_content": delta}) if delta else []
            case "response.reasoning_summary_part.added" if _later_part(event):
                return self._delta({"reasoning_content": "\n\n"})
            case "response.output_item.added":
                return self._item_added(event.get("item"))
            case "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta":
                return self._arguments(event.get("item_id"), delta)
            case "response.output_item.done":
                return self._item_done(event.get("item"))
            case "response.completed" | "response.incomplete":
                return self._completed(event.get("response"))
            case _:  # created, in_progress, part/done events, web search progress...
                return []

    def _delta(self, delta: ChunkDelta) -> list[ChatCompletionChunk]:
        self._streamed = True
        return [self._chunk(delta)]

    def _item_added(self, item: Any) -> list[ChatCompletionChunk]:
        if not isinstance(item, dict) or _tool_call(item) is None or not item.get("id"):
            return []
        call = _Call(len(self._calls), str(item.get("type")))
        self._calls[str(item["id"])] = call
        name = LOCAL_SHELL if call.kind == "local_shell_call" else str(item.get("name") or "")
        piece = {
            "index": call.index,
            "id": str(item.get("call_id") or item["id"]),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        return self._delta({"tool_calls": [piece]})  # type: ignore[typeddict-item]

    def _arguments(self, item_id: Any, delta: Any) -> list[ChatCompletionChunk]:
        call = self._calls.get(str(item_id))
        if call is None or not isinstance(delta, str) or not delta:
            return []
        if call.kind == "custom_tool_call":  # JSON string escaping is per character
            escaped = json.dumps(delta, ensure_ascii=False)[1:-1]
            delta = escaped if call.sent else '{"' + CUSTOM_INPUT + '":"' + escaped
        call.sent = True
        return self._delta(
            {"tool_calls": [{"index": call.index, "function": {"arguments": delta}}]}
        )

    def _item_done(self, item: Any) -> list[ChatCompletionChunk]:
        if not isinstance(item, dict) or (full := _tool_call(item)) is None:
            return []
        item_id = str(item.get("id") or f"item_{len(self._calls)}")
        out: list[ChatCompletionChunk] = []
        if item_id not in self._calls:  # an item that was never announced: start it now
            out = self._item_added({**item, "id": item_id})
        call = self._calls[item_id]
        if call.kind == "custom_tool_call" and call.sent:
            rest = '"}'
        elif call.sent:
            return out
        else:
            rest = full["function"]["arguments"]
        call.sent = True
        piece = {"index": call.index, "function": {"arguments": rest}}
        return out + self._delta({"tool_calls": [piece]})  # type: ignore[typeddict-item]

    def _completed(self, response: Any) -> list[ChatCompletionChunk]:
        self._finished = True
        response = response if isinstance(response, dict) else {}
        self._usage = from_openai(response.get("usage"))
        out: list[ChatCompletionChunk] = []
        if not self._streamed and response.get("output"):
            out = self._replay(response)  # a stream that told only the final response
        reason = _finish_reason(response, bool(self._calls))
        return [*out, self._chunk({}, reason)]

    def _replay(self, response: JSONObject) -> list[ChatCompletionChunk]:
        message = responses_response_to_chat(response, model=self._model)["choices"][0]["message"]
        delta: JSONObject = {
            k: message[k] for k in ("reasoning_content", "content", "refusal") if message.get(k)
        }
        calls = [
            {"index": i, **call}
            for i, call in enumerate(message.get("tool_calls") or [])
            if isinstance(call, dict)
        ]
        for i in range(len(calls)):
            self._calls[f"replayed_{i}"] = _Call(i, "function_call")
        if calls:
            delta["tool_calls"] = calls
        return [self._chunk(delta)] if delta else []  # type: ignore[arg-type]


def _later_part(event: JSONObject) -> bool:
    """A second or later summary part: the hub joins reasoning summaries with a blank line."""
    index = event.get("summary_index")
    return isinstance(index, int) and index > 0


def _failed(response: Any) -> StreamError:
    error = response.get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict):
        return StreamError("response_failed", "upstream response failed")
    return StreamError(
        str(error.get("code") or "response_failed"),
        str(error.get("message") or "upstream response failed"),
    )
