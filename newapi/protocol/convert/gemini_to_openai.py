"""Gemini -> OpenAI Chat Completions (the hub): requests, answers and streams.

Two callers use this module. A Gemini caller (``/v1beta/models/...:generateContent``) on an
OpenAI-compatible channel has its request converted with :func:`generate_request_to_chat`. An
OpenAI (or, through the hub, Claude) caller on a Gemini channel has the upstream answer converted
back with :func:`gemini_response_to_chat` or, chunk by chunk, with :class:`GeminiStreamToChat`.

Thought signatures travel on tool calls as ``extra_content.google.thought_signature`` (Google's
OpenAI-compatible extension); a signature on a text part has no place in the hub and is dropped.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from newapi.protocol.convert.claude_to_openai import StreamError
from newapi.protocol.gemini import finish_reason_from_gemini
from newapi.protocol.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    ChunkDelta,
    FinishReason,
    JSONObject,
    chunk,
    data_uri,
    dump_arguments,
)
from newapi.protocol.usage import Usage, from_gemini, to_openai

__all__ = [
    "GeminiStreamToChat",
    "gemini_response_to_chat",
    "generate_request_to_chat",
]

# Audio formats OpenAI's input_audio takes, by Gemini mimeType.
AUDIO_FORMATS: Final = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mp3": "mp3",
    "audio/mpeg": "mp3",
}


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parts(content: Any) -> list[JSONObject]:
    return _dicts(content.get("parts")) if isinstance(content, dict) else []


def _extra_content(signature: Any) -> JSONObject | None:
    if isinstance(signature, str) and signature:
        return {"google": {"thought_signature": signature}}
    return None


# ---------------------------------------------------------------- request: Gemini -> OpenAI


def generate_request_to_chat(
    body: JSONObject, *, upstream_model: str, stream: bool, include_usage: bool = True
) -> JSONObject:
    """A ``generateContent`` body as a chat-completions body for an OpenAI-compatible channel.

    ``stream`` comes from the URL (``streamGenerateContent``), not the body. ``top_k`` and
    ``extra_body.google.thinking_config`` are hub extensions; an adaptor for a strict OpenAI
    upstream removes them. Built-in tools (googleSearch...) are dropped: an OpenAI model would
    call them as functions the Gemini caller never declared.
    """
    request: JSONObject = {"model": upstream_model, "messages": _messages(body)}
    _copy_tools(body, request)
    config = body.get("generationConfig")
    if isinstance(config, dict):
        _copy_generation_config(config, request)
    if stream:
        request["stream"] = True
        if include_usage:
            request["stream_options"] = {"include_usage": True}
    return request


def _messages(body: JSONObject) -> list[JSONObject]:
    messages: list[JSONObject] = []
    system = _system_text(body.get("systemInstruction") or body.get("system_instruction"))
    if system:
        messages.append({"role": "system", "content": system})
    calls = _CallLedger()
    for content in _dicts(body.get("contents")):
        parts = _parts(content)
        if content.get("role") == "model":
            message = _assistant_message(parts, calls)
            if message is not None:
                messages.append(message)
        else:
            messages += _user_messages(parts, calls)
    return messages


def _system_text(instruction: Any) -> str:
    if isinstance(instruction, str):
        return instruction
    texts = [part["text"] for part in _parts(instruction) if isinstance(part.get("text"), str)]
    return "\n".join(text for text in texts if text)


@dataclass(slots=True)
class _Call:
    id: str
    name: str
    gemini_id: str | None


class _CallLedger:
    """Numbers calls ``call_0, call_1...`` in request order and matches each functionResponse
    to the oldest unanswered call of its id (when Gemini sent ids) or else of its name, so
    parallel calls of one function get their results in order."""

    def __init__(self) -> None:
        self._count = 0
        self._open: list[_Call] = []

    def call(self, name: str, gemini_id: Any) -> str:
        call_id = f"call_{self._count}"
        self._count += 1
        self._open.append(_Call(call_id, name, gemini_id if isinstance(gemini_id, str) else None))
        return call_id

    def answer(self, name: str, gemini_id: Any) -> str:
        match = next((c for c in self._open if gemini_id and c.gemini_id == gemini_id), None)
        match = match or next((c for c in self._open if c.name == name), None)
        if match is None:
            return self.call(name, None)  # unanswerable; still a unique id
        self._open.remove(match)
        return match.id


def _assistant_message(parts: list[JSONObject], calls: _CallLedger) -> ChatMessage | None:
    # Thought parts from history are dropped: the hub has no field an upstream accepts back.
    text = "".join(
        part["text"]
        for part in parts
        if isinstance(part.get("text"), str) and not part.get("thought")
    )
    tool_calls: list[JSONObject] = []
    for part in parts:
        function = part.get("functionCall")
        if not isinstance(function, dict):
            continue
        name = str(function.get("name") or "")
        call: JSONObject = {
            "id": calls.call(name, function.get("id")),
            "type": "function",
            "function": {"name": name, "arguments": _arguments(function.get("args"))},
        }
        extra = _extra_content(part.get("thoughtSignature"))
        if extra is not None:
            call["extra_content"] = extra
        tool_calls.append(call)
    if not tool_calls:
        return {"role": "assistant", "content": text} if text else None
    return {"role": "assistant", "content": text or None, "tool_calls": tool_calls}  # type: ignore[typeddict-item]


def _arguments(args: Any) -> str:
    return dump_arguments(args if isinstance(args, dict) else {})


def _user_messages(parts: list[JSONObject], calls: _CallLedger) -> list[JSONObject]:
    """A user turn -> its tool messages first (they answer the last model turn), then the rest."""
    messages: list[JSONObject] = []
    content: list[JSONObject] = []
    for part in parts:
        response = part.get("functionResponse")
        if isinstance(response, dict):
            name = str(response.get("name") or "")
            result = response.get("response")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": calls.answer(name, response.get("id")),
                    "name": name,
                    "content": dump_arguments(result if isinstance(result, dict) else {}),
                }
            )
        elif (converted := _content_part(part)) is not None:
            content.append(converted)
    if len(content) == 1 and content[0]["type"] == "text":
        messages.append({"role": "user", "content": content[0]["text"]})
    elif content:
        messages.append({"role": "user", "content": content})
    return messages


def _content_part(part: JSONObject) -> JSONObject | None:
    if isinstance(part.get("text"), str):
        if part.get("thought") or not part["text"]:
            return None
        return {"type": "text", "text": part["text"]}
    inline = part.get("inlineData") or part.get("inline_data")
    if isinstance(inline, dict):
        mime, data = inline.get("mimeType") or inline.get("mime_type"), inline.get("data")
        if not isinstance(mime, str) or not isinstance(data, str):
            return None
        return _inline_part(mime.lower(), data)
    file = part.get("fileData") or part.get("file_data")
    if isinstance(file, dict):
        uri = file.get("fileUri") or file.get("file_uri")
        # OpenAI takes a URL only as an image; other files by URL have no chat equivalent.
        return {"type": "image_url", "image_url": {"url": uri}} if isinstance(uri, str) else None
    return None


def _inline_part(mime: str, data: str) -> JSONObject:
    if mime.startswith("audio/"):
        audio_format = AUDIO_FORMATS.get(mime, mime.removeprefix("audio/"))
        return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": data_uri(mime, data)}}
    extension = mime.rsplit("/", 1)[-1]
    return {
        "type": "file",
        "file": {"filename": f"file.{extension}", "file_data": data_uri(mime, data)},
    }


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    tools = []
    for tool in _dicts(body.get("tools")):
        declarations = tool.get("functionDeclarations") or tool.get("function_declarations")
        for declaration in _dicts(declarations):
            if not isinstance(declaration.get("name"), str) or not declaration["name"]:
                continue
            function: JSONObject = {"name": declaration["name"]}
            if isinstance(declaration.get("description"), str) and declaration["description"]:
                function["description"] = declaration["description"]
            schema = declaration.get("parameters") or declaration.get("parametersJsonSchema")
            function["parameters"] = (
                _lower_types(schema)
                if isinstance(schema, dict)
                else {"type": "object", "properties": {}}
            )
            tools.append({"type": "function", "function": function})
    if not tools:
        return
    request["tools"] = tools
    tool_config = body.get("toolConfig")
    config = tool_config.get("functionCallingConfig") if isinstance(tool_config, dict) else None
    if isinstance(config, dict):
        choice = _tool_choice(config)
        if choice is not None:
            request["tool_choice"] = choice


def _lower_types(schema: Any) -> Any:
    """Gemini's OpenAPI schemas may spell types in capitals (``OBJECT``); JSON Schema cannot."""
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lowered = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            lowered[key] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            lowered[key] = {name: _lower_types(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf"):
            lowered[key] = _lower_types(value)
        else:
            lowered[key] = value
    return lowered


def _tool_choice(config: JSONObject) -> str | JSONObject | None:
    names = [name for name in config.get("allowedFunctionNames") or [] if isinstance(name, str)]
    match config.get("mode"):
        case "AUTO" | "VALIDATED":
            return "auto"
        case "NONE":
            return "none"
        case "ANY" if len(names) == 1:
            return {"type": "function", "function": {"name": names[0]}}
        case "ANY":
            return "required"  # several allowed names: OpenAI can force only one or any
    return None


def _copy_generation_config(config: JSONObject, request: JSONObject) -> None:
    for source, target in (
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("topK", "top_k"),
        ("seed", "seed"),
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
    ):
        if _number(config.get(source)):
            request[target] = config[source]
    if _number(config.get("maxOutputTokens")) and config["maxOutputTokens"] > 0:
        request["max_tokens"] = int(config["maxOutputTokens"])
    stops = [s for s in config.get("stopSequences") or [] if isinstance(s, str) and s]
    if stops:
        request["stop"] = stops
    if _number(config.get("candidateCount")) and config["candidateCount"] > 1:
        request["n"] = int(config["candidateCount"])
    response_format = _response_format(config)
    if response_format is not None:
        request["response_format"] = response_format
    thinking = config.get("thinkingConfig")
    if isinstance(thinking, dict):
        _copy_thinking(thinking, request)


def _response_format(config: JSONObject) -> JSONObject | None:
    schema = config.get("responseSchema") or config.get("responseJsonSchema")
    if isinstance(schema, dict):
        return {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": _lower_types(schema)},
        }
    if config.get("responseMimeType") == "application/json":
        return {"type": "json_object"}
    return None


def _copy_thinking(thinking: JSONObject, request: JSONObject) -> None:
    snake = {_snake(key): value for key, value in thinking.items()}
    request["extra_body"] = {"google": {"thinking_config": snake}}
    effort = _effort(snake.get("thinking_budget"), snake.get("thinking_level"))
    if effort is not None:
        request["reasoning_effort"] = effort


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _effort(budget: Any, level: Any) -> str | None:
    """The nearest reasoning_effort: budget 0 asks for none, so none is sent; -1 (dynamic)
    is medium; up to 1024 low, up to 8192 medium, above high."""
    if isinstance(level, str) and level:
        return {"minimal": "low"}.get(level.lower(), level.lower())
    if not _number(budget) or budget == 0:
        return None
    if budget < 0:
        return "medium"
    if budget <= 1024:
        return "low"
    return "medium" if budget <= 8192 else "high"


# ---------------------------------------------------------------- response: Gemini -> OpenAI


def gemini_response_to_chat(
    response: JSONObject, *, model: str, created: int | None = None
) -> ChatCompletion:
    """A ``GenerateContentResponse`` as a ``chat.completion`` (usage in OpenAI semantics).

    Tool-call ids are ``call_<responseId>_<n>``: unique across turns, stable for one answer.
    """
    response_id = str(response.get("responseId") or uuid.uuid4().hex)
    choices = []
    counter = _Counter(response_id)
    for position, candidate in enumerate(_dicts(response.get("candidates"))):
        parts = _parts(candidate.get("content"))
        reply: ChatMessage = {"role": "assistant"}
        text = "".join(_texts(parts, thought=False))
        reasoning = "".join(_texts(parts, thought=True))
        calls = [
            counter.tool_call(part) for part in parts if isinstance(part.get("functionCall"), dict)
        ]
        reply["content"] = text if text or not calls else None
        if reasoning:
            reply["reasoning_content"] = reasoning
        if calls:
            reply["tool_calls"] = calls  # type: ignore[typeddict-item]
        index = candidate.get("index")
        reason = finish_reason_from_gemini(
            candidate.get("finishReason"), has_tool_calls=bool(calls)
        )
        choices.append(
            {
                "index": index if isinstance(index, int) else position,
                "message": reply,
                "finish_reason": reason,
                "logprobs": None,
            }
        )
    if not choices and _blocked(response):
        choices.append(
            {
                "index": 0,
                "message": {"role": "assistant", "content": ""},
                "finish_reason": "content_filter",
                "logprobs": None,
            }
        )
    return {
        "id": f"chatcmpl-{response_id}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": choices,  # type: ignore[typeddict-item]
        "usage": to_openai(from_gemini(response.get("usageMetadata"))),
    }


def _texts(parts: list[JSONObject], *, thought: bool) -> list[str]:
    return [
        part["text"]
        for part in parts
        if isinstance(part.get("text"), str) and bool(part.get("thought")) is thought
    ]


def _blocked(response: JSONObject) -> bool:
    feedback = response.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


class _Counter:
    def __init__(self, response_id: str) -> None:
        self._prefix = f"call_{response_id}_"
        self._count = 0

    def tool_call(self, part: JSONObject) -> JSONObject:
        function = part["functionCall"]
        call: JSONObject = {
            "id": f"{self._prefix}{self._count}",
            "type": "function",
            "function": {
                "name": str(function.get("name") or ""),
                "arguments": _arguments(function.get("args")),
            },
        }
        self._count += 1
        extra = _extra_content(part.get("thoughtSignature"))
        if extra is not None:
            call["extra_content"] = extra
        return call


# ---------------------------------------------------------------- stream: Gemini -> OpenAI


class GeminiStreamToChat:
    """Gemini stream chunks in, ``chat.completion.chunk`` dicts out.

    Gemini sends whole function calls, so each becomes one complete tool-call delta (index,
    id, name, arguments, extra_content). Holds the response id, per-candidate call counts, the
    latest usageMetadata and whether a finish reason was seen; text is never accumulated.
    """

    def __init__(self, *, model: str, include_usage: bool, created: int | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._counter: _Counter | None = None
        self._calls: dict[int, int] = {}  # candidate index -> tool calls sent
        self._metadata: Any = None
        self._started = False
        self._finished = False

    @property
    def usage(self) -> Usage:
        """Usage from the latest usageMetadata seen (Gemini repeats running totals)."""
        return from_gemini(self._metadata)

    @property
    def finished(self) -> bool:
        """A finishReason was seen: the upstream answer is complete."""
        return self._finished

    def feed(self, response: JSONObject) -> list[ChatCompletionChunk]:
        error = response.get("error")
        if isinstance(error, dict):
            raise StreamError(
                str(error.get("status") or "api_error"),
                str(error.get("message") or "upstream stream error"),
            )
        if self._counter is None:
            response_id = str(response.get("responseId") or uuid.uuid4().hex)
            self._id = f"chatcmpl-{response_id}"
            self._counter = _Counter(response_id)
        if isinstance(response.get("usageMetadata"), dict):
            self._metadata = response["usageMetadata"]
        out: list[ChatCompletionChunk] = []
        for position, candidate in enumerate(_dicts(response.get("candidates"))):
            index = candidate.get("index") if isinstance(candidate.get("index"), int) else position
            for part in _parts(candidate.get("content")):
                delta = self._part_delta(index, part)
                if delta is not None:
                    out.append(self._chunk(index, delta))
            reason = candidate.get("finishReason")
            if isinstance(reason, str) and reason:
                self._finished = True
                has_calls = self._calls.get(index, 0) > 0
                out.append(
                    self._chunk(
                        index, {}, finish_reason_from_gemini(reason, has_tool_calls=has_calls)
                    )
                )
        if not out and not self._finished and _blocked(response):  # the prompt was blocked
            self._finished = True
            out.append(self._chunk(0, {}, "content_filter"))
        return out

    def finish(self) -> list[ChatCompletionChunk]:
        """The final usage chunk (``choices: []``) when the caller asked for usage."""
        if not self._include_usage:
            return []
        final = chunk(id=self._id, created=self._created, model=self._model, delta={})
        final["choices"] = []
        final["usage"] = to_openai(self.usage)
        return [final]

    def _part_delta(self, index: int, part: JSONObject) -> ChunkDelta | None:
        text = part.get("text")
        if isinstance(text, str) and text:
            return {"reasoning_content": text} if part.get("thought") else {"content": text}
        if isinstance(part.get("functionCall"), dict) and self._counter is not None:
            position = self._calls.get(index, 0)
            self._calls[index] = position + 1
            call = {"index": position, **self._counter.tool_call(part)}
            return {"tool_calls": [call]}  # type: ignore[list-item]
        return None

    def _chunk(
        self, index: int, delta: ChunkDelta, finish_reason: FinishReason | None = None
    ) -> ChatCompletionChunk:
        if not self._started:
            self._started = True
            delta = {"role": "assistant", **delta}  # type: ignore[typeddict-item]
        made = chunk(
            id=self._id,
            created=self._created,
            model=self._model,
            delta=delta,
            finish_reason=finish_reason,
        )
        made["choices"][0]["index"] = index
        return made
