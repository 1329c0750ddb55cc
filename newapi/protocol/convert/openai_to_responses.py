"""OpenAI Chat Completions (the hub) -> OpenAI Responses: requests, answers and streams.

Two callers use this module. A chat (or, through the hub, Claude or Gemini) caller on a model
served only through the Responses API (OpenAI's codex models, gpt-5-pro) has its request
converted with :func:`chat_request_to_responses`. A ``/v1/responses`` caller on a channel
that speaks chat completions, Claude or Gemini has the hub answer converted back with
:func:`chat_response_to_responses` or, chunk by chunk, with :class:`ChatStreamToResponses`.

The Responses caller's own request is echoed in the Response object (instructions, tools,
reasoning, text...) as the Responses API does; hub function calls of the caller's custom tools
and ``local_shell`` go back as ``custom_tool_call`` / ``local_shell_call`` items. Nothing is
stored: ``store`` is always false and ``previous_response_id`` is never honoured here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from newapi.protocol.convert.claude_to_openai import StreamError
from newapi.protocol.openai import JSONObject, text_of
from newapi.protocol.responses import (
    LOCAL_SHELL,
    ResponsesEvent,
    custom_input,
    declared_tools,
    encode_signatures,
    incomplete_reason,
    local_shell_action,
    wants_encrypted_reasoning,
)
from newapi.protocol.usage import Usage, from_openai, to_responses

__all__ = [
    "ChatStreamToResponses",
    "chat_request_to_responses",
    "chat_response_to_responses",
]


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# ---------------------------------------------------------------- request: hub -> Responses


def chat_request_to_responses(body: JSONObject, *, upstream_model: str) -> JSONObject:
    """A chat-completions (hub) body as a ``/v1/responses`` body.

    Leading system messages become ``instructions``; later ones and ``developer`` messages stay
    input messages. Function tools are written with an explicit ``strict`` (Responses would
    default it to true and refuse loose schemas). ``store`` is false unless the caller asked.
    Lost: ``stop``, ``n``, ``seed``, penalties, ``logit_bias``, audio output, earlier turns'
    ``reasoning_content`` and thought signatures (Responses takes back only its own
    encrypted reasoning).
    """
    instructions, items = _input_items(_dicts(body.get("messages")))
    request: JSONObject = {"model": upstream_model}
    if instructions:
        request["instructions"] = instructions
    request["input"] = items
    max_tokens = _positive_int(body.get("max_completion_tokens")) or _positive_int(
        body.get("max_tokens")
    )
    if max_tokens:
        request["max_output_tokens"] = max_tokens
    for field in ("temperature", "top_p"):
        value = body.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            request[field] = value
    _copy_tools(body, request)
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort:
        request["reasoning"] = {"effort": effort, "summary": "auto"}  # summaries feed the hub
    text = _text_options(body)
    if text:
        request["text"] = text
    for field in ("prompt_cache_key", "safety_identifier", "user", "service_tier"):
        if isinstance(body.get(field), str) and body[field]:
            request[field] = body[field]
    if isinstance(body.get("metadata"), dict):
        request["metadata"] = body["metadata"]
    if body.get("logprobs") is True and _positive_int(body.get("top_logprobs")):
        request["top_logprobs"] = body["top_logprobs"]
    request["store"] = body.get("store") is True
    if body.get("stream") is True:
        request["stream"] = True
    return request


def _input_items(messages: list[JSONObject]) -> tuple[str, list[JSONObject]]:
    system: list[str] = []
    items: list[JSONObject] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role == "system" and not items:
            if text := text_of(content, "\n"):
                system.append(text)
        elif role in ("system", "developer"):
            items.append({"type": "message", "role": role, "content": text_of(content, "\n")})
        elif role == "assistant":
            items.extend(_assistant_items(message))
        elif role == "tool":
            output = _input_content(content)
            call_id = str(message.get("tool_call_id") or "")
            items.append({"type": "function_call_output", "call_id": call_id, "output": output})
        else:
            items.append({"type": "message", "role": "user", "content": _input_content(content)})
    return "\n\n".join(system), items


def _assistant_items(message: JSONObject) -> list[JSONObject]:
    items: list[JSONObject] = []
    text = text_of(message.get("content"))
    if text:
        items.append({"type": "message", "role": "assistant", "content": text})
    for call in _dicts(message.get("tool_calls")):
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments")
        items.append(
            {
                "type": "function_call",
                "call_id": str(call.get("id") or ""),
                "name": str(function.get("name") or ""),
                "arguments": arguments if isinstance(arguments, str) else "{}",
            }
        )
    return items


def _input_content(content: Any) -> str | list[JSONObject]:
    if isinstance(content, str) or content is None:
        return content or ""
    parts = [part for raw in _dicts(content) if (part := _input_part(raw)) is not None]
    if all(part["type"] == "input_text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _input_part(part: JSONObject) -> JSONObject | None:
    match part.get("type"):
        case "text" | "refusal":
            text = part.get("text")
            return {"type": "input_text", "text": text} if isinstance(text, str) and text else None
        case "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                return None
            detail = image.get("detail") if isinstance(image, dict) else None
            detail = detail if detail in ("low", "high", "auto") else "auto"
            return {"type": "input_image", "image_url": url, "detail": detail}
        case "file":
            file = part.get("file")
            if not isinstance(file, dict) or not isinstance(file.get("file_data"), str):
                return None
            filename = file.get("filename") if isinstance(file.get("filename"), str) else "file"
            return {"type": "input_file", "filename": filename, "file_data": file["file_data"]}
        case "input_audio" if isinstance(part.get("input_audio"), dict):
            return {"type": "input_audio", "input_audio": part["input_audio"]}
        case _:
            return None


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    tools: list[JSONObject] = []
    for tool in _dicts(body.get("tools")):
        function = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(function, dict):
            continue
        if not isinstance(function.get("name"), str) or not function["name"]:
            continue
        converted: JSONObject = {"type": "function", "name": function["name"]}
        if isinstance(function.get("description"), str):
            converted["description"] = function["description"]
        parameters = function.get("parameters")
        converted["parameters"] = (
            parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
        )
        converted["strict"] = function.get("strict") is True
        tools.append(converted)
    search = body.get("web_search_options")
    if isinstance(search, dict):
        tools.append(_web_search_tool(search))
    if not tools:
        return
    request["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        request["tool_choice"] = choice
    if isinstance(body.get("parallel_tool_calls"), bool):
        request["parallel_tool_calls"] = body["parallel_tool_calls"]


def _web_search_tool(options: JSONObject) -> JSONObject:
    tool: JSONObject = {"type": "web_search"}
    if options.get("search_context_size") in ("low", "medium", "high"):
        tool["search_context_size"] = options["search_context_size"]
    location = options.get("user_location")
    approximate = location.get("approximate") if isinstance(location, dict) else None
    if isinstance(approximate, dict):
        fields = ("city", "country", "region", "timezone")
        tool["user_location"] = {"type": "approximate"} | {
            k: approximate[k] for k in fields if isinstance(approximate.get(k), str)
        }
    return tool


def _tool_choice(choice: Any) -> Any:
    match choice:
        case "auto" | "none" | "required":
            return choice
        case {"function": {"name": str(name)}}:
            return {"type": "function", "name": name}
        case {"type": "allowed_tools", "allowed_tools": {"mode": str(mode), "tools": list(tools)}}:
            allowed = [
                {"type": "function", "name": t["function"]["name"]}
                for t in _dicts(tools)
                if isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str)
            ]
            return {"type": "allowed_tools", "mode": mode, "tools": allowed}
        case _:
            return None


def _text_options(body: JSONObject) -> JSONObject:
    text: JSONObject = {}
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        text["format"] = {"type": "json_object"}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), dict) else {}
        converted: JSONObject = {
            "type": "json_schema",
            "name": str(schema.get("name") or "response"),
        }
        for field in ("description", "schema", "strict"):
            if schema.get(field) is not None:
                converted[field] = schema[field]
        text["format"] = converted
    if body.get("verbosity") in ("low", "medium", "high"):
        text["verbosity"] = body["verbosity"]
    return text


# ---------------------------------------------------------------- the Response object


def response_object(
    request: JSONObject,
    *,
    model: str,
    response_id: str,
    created: int,
    status: str,
    output: list[JSONObject],
    usage: Usage | None,
    incomplete: str | None = None,
) -> JSONObject:
    """A Response object echoing the caller's ``request`` as the Responses API does.

    ``incomplete`` is why an ``incomplete`` Response stopped (``max_output_tokens``...)."""
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    parallel = request.get("parallel_tool_calls")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None if incomplete is None else {"reason": incomplete},
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "previous_response_id": None,
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": request.get("service_tier") or "default",
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": {
            "format": text.get("format") or {"type": "text"},
            "verbosity": text.get("verbosity") or "medium",
        },
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": [_echo_tool(tool) for tool in _dicts(request.get("tools"))],
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation") or "disabled",
        "usage": None if usage is None else to_responses(usage),
        "user": request.get("user"),
        "metadata": request.get("metadata") if isinstance(request.get("metadata"), dict) else {},
    }


def _echo_tool(tool: JSONObject) -> JSONObject:
    if tool.get("type") != "function":
        return tool
    return {"description": None, "parameters": None, "strict": True, **tool}


class _Ids:
    """Response and item ids sharing one random stem (``resp_<stem>``, ``msg_<stem>_1``...)."""

    def __init__(self, response_id: str | None) -> None:
        self.response = response_id or f"resp_{uuid.uuid4().hex}"
        self.stem = self.response.removeprefix("resp_")
        self.count = 0

    def item(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.stem}_{self.count}"


_PREFIXES = {"function": "fc", "custom": "ctc", LOCAL_SHELL: "lsh"}


def _call_kind(name: str, tools: dict[str, str]) -> str:
    kind = tools.get(name, "function")
    return kind if kind in _PREFIXES else "function"


def _call_item(item_id: str, kind: str, call_id: str, name: str, arguments: str) -> JSONObject:
    """A finished call item; ``kind`` is the tool kind the caller declared ``name`` with."""
    if kind == "custom":
        return {
            "id": item_id,
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": name,
            "input": custom_input(arguments),
        }
    if kind == LOCAL_SHELL:
        action = local_shell_action(arguments)
        return {
            "id": item_id,
            "type": "local_shell_call",
            "call_id": call_id,
            "action": action,
            "status": "completed",
        }
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def _reasoning_item(item_id: str, text: str, signatures: dict[str, str]) -> JSONObject:
    item: JSONObject = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if signatures:
        item["encrypted_content"] = encode_signatures(signatures)
    return item


def _output_text(text: str) -> JSONObject:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


# ---------------------------------------------------------------- answer: hub -> Responses


def chat_response_to_responses(
    chat: JSONObject,
    *,
    model: str,
    request: JSONObject,
    response_id: str | None = None,
    created: int | None = None,
) -> JSONObject:
    """A ``chat.completion`` as a Response object for the Responses caller of ``request``.

    Output order: one reasoning item (its summary is the hub's ``reasoning_content``; Gemini
    thought signatures ride in its ``encrypted_content`` when the caller included it), the
    message, then one call item per tool call. A ``length`` or ``content_filter`` finish makes
    the Response ``incomplete``.
    """
    ids = _Ids(response_id)
    choices = _dicts(chat.get("choices"))
    choice = choices[0] if choices else {}
    reply = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    calls = _dicts(reply.get("tool_calls"))
    signatures = _signatures(calls) if wants_encrypted_reasoning(request) else {}
    reasoning = reply.get("reasoning_content") or reply.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    reason = incomplete_reason(choice.get("finish_reason"))
    output: list[JSONObject] = []
    if reasoning or signatures:
        output.append(_reasoning_item(ids.item("rs"), reasoning, signatures))
    content = [_output_text(text)] if (text := text_of(reply.get("content"))) else []
    if isinstance(reply.get("refusal"), str) and reply["refusal"]:
        content.append({"type": "refusal", "refusal": reply["refusal"]})
    if content:
        status = "incomplete" if reason else "completed"
        output.append(_message_item(ids.item("msg"), content, status))
    tools = declared_tools(request)
    for call in calls:
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = str(function.get("name") or "")
        kind = _call_kind(name, tools)
        arguments = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
        item_id = ids.item(_PREFIXES[kind])
        output.append(_call_item(item_id, kind, str(call.get("id") or item_id), name, arguments))
    return response_object(
        request,
        model=model,
        response_id=ids.response,
        created=int(time.time()) if created is None else created,
        status="incomplete" if reason else "completed",
        output=output,
        usage=from_openai(chat.get("usage")),
        incomplete=reason,
    )


def _message_item(item_id: str, content: list[JSONObject], status: str) -> JSONObject:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _signatures(calls: list[JSONObject]) -> dict[str, str]:
    signatures: dict[str, str] = {}
    for call in calls:
        extra = call.get("extra_content")
        google = extra.get("google") if isinstance(extra, dict) else None
        signature = google.get("thought_signature") if isinstance(google, dict) else None
        if isinstance(signature, str) and signature and call.get("id"):
            signatures[str(call["id"])] = signature
    return signatures


# ---------------------------------------------------------------- stream: hub -> Responses


class _Open:
    """An output item being streamed."""

    __slots__ = ("call_id", "index", "item_id", "kind", "name", "parts", "text")

    def __init__(self, kind: str, index: int, item_id: str) -> None:
        self.kind, self.index, self.item_id = kind, index, item_id
        self.text = ""  # reasoning summary, or a call's arguments
        self.parts: list[JSONObject] = []  # a message's content parts (the last one is open)
        self.call_id = ""
        self.name = ""


class ChatStreamToResponses:
    """Hub chunks in, Responses stream events ``(name, data)`` out, in the API's order.

    ``response.created`` and ``response.in_progress`` open the stream; each reasoning summary,
    message and call is an output item (``output_item.added`` ... ``output_item.done``) with
    its part and delta events; :meth:`finish` closes what is open and ends with
    ``response.completed`` (or ``response.incomplete``) carrying the whole Response and usage.
    Text and calls are kept until their item is done (the done events repeat them).
    A reasoning or message item closes when any other item starts; calls stay open until the
    end, so an upstream interleaving parallel calls' arguments loses nothing. A custom tool's
    input is sent in one delta when its call is done (the hub streams it as JSON).
    """

    def __init__(
        self,
        *,
        model: str,
        request: JSONObject,
        response_id: str | None = None,
        created: int | None = None,
    ) -> None:
        self._model = model
        self._request = request
        self._ids = _Ids(response_id)
        self._created = int(time.time()) if created is None else created
        self._tools = declared_tools(request)
        self._wants_signatures = wants_encrypted_reasoning(request)
        self._sequence = 0
        self._started = False
        self._done = False
        self._output: dict[int, JSONObject] = {}  # finished items by output index
        self._next_index = 0
        self._open: _Open | None = None  # the open reasoning or message item
        self._calls: dict[int, _Open] = {}  # open call items by hub tool-call index
        self._signatures: dict[str, str] = {}  # not yet written to a reasoning item
        self._finish_reason: str | None = None

    # -- the public surface

    def feed(self, chunk: JSONObject) -> list[ResponsesEvent]:
        """Events for one hub chunk; an in-stream ``error`` raises :class:`StreamError`."""
        error = chunk.get("error")
        if isinstance(error, dict):
            raise StreamError(
                str(error.get("type") or error.get("code") or "api_error"),
                str(error.get("message") or "upstream stream error"),
            )
        if self._done:
            return []
        events = self._start()
        choice = next((c for c in _dicts(chunk.get("choices")) if c.get("index", 0) == 0), None)
        if choice is None:
            return events
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events += self._reasoning(reasoning)
        if isinstance(delta.get("content"), str) and delta["content"]:
            events += self._message("output_text", delta["content"])
        if isinstance(delta.get("refusal"), str) and delta["refusal"]:
            events += self._message("refusal", delta["refusal"])
        for position, call in enumerate(_dicts(delta.get("tool_calls"))):
            events += self._call(call, position)
        if isinstance(choice.get("finish_reason"), str):
            self._finish_reason = choice["finish_reason"]
        return events

    def finish(self, usage: Usage) -> list[ResponsesEvent]:
        """Close every open item and end with ``response.completed`` / ``.incomplete``."""
        if self._done:
            return []
        events = self._start() + self._close_open()
        for key in sorted(self._calls, key=lambda k: self._calls[k].index):
            events += self._close_call(self._calls[key])
        self._calls.clear()
        events += self._signature_item()
        self._done = True
        reason = incomplete_reason(self._finish_reason)
        status = "incomplete" if reason else "completed"
        response = self._response(status, usage, reason)
        events.append(self._event(f"response.{status}", response=response))
        return events

    def fail(self, message: str) -> list[ResponsesEvent]:
        """End a broken stream with ``response.failed`` (the finished items kept)."""
        if self._done:
            return []
        events = self._start()
        self._done = True
        response = self._response("failed", None)
        response["error"] = {"code": "server_error", "message": message}
        events.append(self._event("response.failed", response=response))
        return events

    # -- events

    def _event(self, name: str, /, **fields: Any) -> ResponsesEvent:
        data = {"type": name, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return name, data

    def _response(
        self, status: str, usage: Usage | None, incomplete: str | None = None
    ) -> JSONObject:
        return response_object(
            self._request,
            model=self._model,
            response_id=self._ids.response,
            created=self._created,
            status=status,
            output=[self._output[index] for index in sorted(self._output)],
            usage=usage,
            incomplete=incomplete,
        )

    def _start(self) -> list[ResponsesEvent]:
        if self._started:
            return []
        self._started = True
        response = self._response("in_progress", None)
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def _add(self, kind: str, prefix: str, item: JSONObject) -> tuple[_Open, ResponsesEvent]:
        opened = _Open(kind, self._next_index, self._ids.item(prefix))
        self._next_index += 1
        added = self._event(
            "response.output_item.added",
            output_index=opened.index,
            item={"id": opened.item_id, **item},
        )
        return opened, added

    def _done_item(self, opened: _Open, item: JSONObject) -> ResponsesEvent:
        self._output[opened.index] = item
        return self._event("response.output_item.done", output_index=opened.index, item=item)

    # -- reasoning and message items

    def _reasoning(self, text: str) -> list[ResponsesEvent]:
        events: list[ResponsesEvent] = []
        if self._open is None or self._open.kind != "reasoning":
            events = self._close_open()
            self._open, added = self._add("reasoning", "rs", {"type": "reasoning", "summary": []})
            events.append(added)
            events.append(self._summary_event("response.reasoning_summary_part.added", ""))
        self._open.text += text
        where = self._where(self._open)
        events.append(
            self._event(
                "response.reasoning_summary_text.delta", **where, summary_index=0, delta=text
            )
        )
        return events

    def _summary_event(self, name: str, text: str) -> ResponsesEvent:
        assert self._open is not None
        part = {"type": "summary_text", "text": text}
        return self._event(name, **self._where(self._open), summary_index=0, part=part)

    def _message(self, kind: str, text: str) -> list[ResponsesEvent]:
        events: list[ResponsesEvent] = []
        if self._open is None or self._open.kind != "message":
            events = self._close_open()
            item = {"type": "message", "status": "in_progress", "role": "assistant", "content": []}
            self._open, added = self._add("message", "msg", item)
            events.append(added)
        opened = self._open
        if not opened.parts or opened.parts[-1]["type"] != kind:
            events += self._close_part(opened)
            part = _output_text("") if kind == "output_text" else {"type": "refusal", "refusal": ""}
            opened.parts.append(part)
            events.append(self._part_event("response.content_part.added", opened, dict(part)))
        field = "text" if kind == "output_text" else "refusal"
        opened.parts[-1][field] += text
        name = "response.output_text.delta" if kind == "output_text" else "response.refusal.delta"
        extra: JSONObject = {"logprobs": []} if kind == "output_text" else {}
        where = self._where(opened) | {"content_index": len(opened.parts) - 1}
        events.append(self._event(name, **where, delta=text, **extra))
        return events

    def _where(self, opened: _Open) -> JSONObject:
        return {"item_id": opened.item_id, "output_index": opened.index}

    def _part_event(self, name: str, opened: _Open, part: JSONObject) -> ResponsesEvent:
        where = self._where(opened) | {"content_index": len(opened.parts) - 1}
        return self._event(name, **where, part=part)

    def _close_part(self, opened: _Open) -> list[ResponsesEvent]:
        if not opened.parts:
            return []
        part = opened.parts[-1]
        where = self._where(opened) | {"content_index": len(opened.parts) - 1}
        if part["type"] == "output_text":
            done = self._event("response.output_text.done", **where, text=part["text"], logprobs=[])
        else:
            done = self._event("response.refusal.done", **where, refusal=part["refusal"])
        return [done, self._part_event("response.content_part.done", opened, dict(part))]

    def _close_open(self, signatures: dict[str, str] | None = None) -> list[ResponsesEvent]:
        opened, self._open = self._open, None
        if opened is None:
            return []
        if opened.kind == "message":
            status = "incomplete" if incomplete_reason(self._finish_reason) else "completed"
            events = self._close_part(opened)
            item = _message_item(opened.item_id, opened.parts, status)
            return [*events, self._done_item(opened, item)]
        part = {"type": "summary_text", "text": opened.text}
        where = self._where(opened)
        events = [
            self._event(
                "response.reasoning_summary_text.done", **where, summary_index=0, text=opened.text
            ),
            self._event(
                "response.reasoning_summary_part.done", **where, summary_index=0, part=part
            ),
        ]
        item = _reasoning_item(opened.item_id, opened.text, signatures or {})
        return [*events, self._done_item(opened, item)]

    # -- calls

    def _call(self, call: JSONObject, position: int) -> list[ResponsesEvent]:
        key = call.get("index") if isinstance(call.get("index"), int) else position
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        events: list[ResponsesEvent] = []
        opened = self._calls.get(key)
        if opened is None:
            events = self._open_call(call, key, str(function.get("name") or ""))
            opened = self._calls[key]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            opened.text += arguments
            if opened.kind == "function":
                events.append(
                    self._event(
                        "response.function_call_arguments.delta",
                        **self._where(opened),
                        delta=arguments,
                    )
                )
        return events

    def _open_call(self, call: JSONObject, key: int, name: str) -> list[ResponsesEvent]:
        call_id = str(call.get("id") or "")
        signature = _signatures([call]) if self._wants_signatures else {}
        self._signatures.update(signature)
        events: list[ResponsesEvent] = []
        if self._open is not None and self._open.kind == "reasoning":
            events = self._close_open(self._signatures)
            self._signatures = {}
        else:
            events = self._close_open() + self._signature_item()
        kind = _call_kind(name, self._tools)
        item: JSONObject
        if kind == "custom":
            item = {"type": "custom_tool_call", "call_id": call_id, "name": name, "input": ""}
        elif kind == LOCAL_SHELL:
            action = local_shell_action("")
            item = {"type": "local_shell_call", "call_id": call_id, "action": action}
            item["status"] = "in_progress"
        else:
            item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": ""}
            item["status"] = "in_progress"
        opened, added = self._add(kind, _PREFIXES[kind], item)
        opened.call_id = call_id or opened.item_id
        opened.name = name
        if not call_id:
            added[1]["item"]["call_id"] = opened.call_id
        self._calls[key] = opened
        return [*events, added]

    def _close_call(self, opened: _Open) -> list[ResponsesEvent]:
        item = _call_item(opened.item_id, opened.kind, opened.call_id, opened.name, opened.text)
        where = self._where(opened)
        events: list[ResponsesEvent] = []
        if opened.kind == "function":
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    **where,
                    name=opened.name,
                    arguments=opened.text,
                )
            )
        elif opened.kind == "custom":
            if item["input"]:
                events.append(
                    self._event(
                        "response.custom_tool_call_input.delta", **where, delta=item["input"]
                    )
                )
            events.append(
                self._event("response.custom_tool_call_input.done", **where, input=item["input"])
            )
        return [*events, self._done_item(opened, item)]

    def _signature_item(self) -> list[ResponsesEvent]:
        """Signatures not yet written: a reasoning item of their own (no summary)."""
        if not self._signatures:
            return []
        signatures, self._signatures = self._signatures, {}
        opened, added = self._add("reasoning", "rs", {"type": "reasoning", "summary": []})
        return [added, self._done_item(opened, _reasoning_item(opened.item_id, "", signatures))]
