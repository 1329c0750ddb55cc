"""OpenAI Chat Completions (the hub) -> Gemini: requests, answers and streams.

Two callers use this module. An OpenAI (or, through the hub, Claude) caller on a Gemini channel
has its request converted with :func:`chat_request_to_gemini`. A Gemini caller
(``/v1beta/models/...``) on an OpenAI-compatible channel has the upstream answer converted back
with :func:`chat_response_to_gemini` or, chunk by chunk, with :class:`ChatStreamToGemini`.

Hub extensions read here, as Google's own OpenAI-compatible endpoint names them: a tool call's
``extra_content.google.thought_signature``; ``extra_body.google.thinking_config`` (the JSON key
``extra_body`` literally, as Google documents for raw HTTP) and ``google.thinking_config``;
``reasoning_content`` and ``top_k``. Nothing is fetched: image URLs travel as ``fileData``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from newapi.protocol.convert.claude_to_openai import StreamError
from newapi.protocol.gemini import (
    SAFETY_CATEGORIES,
    clean_schema,
    finish_reason_to_gemini,
    thinking_suffix,
)
from newapi.protocol.openai import JSONObject, load_arguments, parse_data_uri, text_of
from newapi.protocol.usage import Usage, from_openai, to_gemini

__all__ = [
    "ChatStreamToGemini",
    "GeminiCall",
    "chat_request_to_gemini",
    "chat_response_to_gemini",
]

BUILTIN_TOOLS: Final = frozenset({"googleSearch", "codeExecution", "urlContext"})
MAX_STOP_SEQUENCES: Final = 5
# reasoning_effort -> thinkingBudget for 2.5-style models. "minimal" is 512, not 0: 0 is refused
# by 2.5 Pro and 512 is the smallest budget 2.5 Flash-Lite accepts (Pro's range starts at 128).
EFFORT_BUDGETS: Final = MappingProxyType(
    {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}
)
# reasoning_effort -> thinkingLevel for gemini-3 models: Gemini 3 Pro knows only "low" and
# "high", so the lower half maps to low and the upper half to high.
EFFORT_LEVELS: Final = MappingProxyType(
    {"minimal": "low", "low": "low", "medium": "high", "high": "high", "xhigh": "high"}
)
# File types Gemini reads by URI, by extension. A fixed table, not ``mimetypes``: that reads
# the machine's /etc/mime.types, and a wire format must not depend on the host.
MIME_TYPES: Final = MappingProxyType(
    {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "heic": "image/heic",
        "heif": "image/heif",
        "pdf": "application/pdf",
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "mp4": "video/mp4",
        "mov": "video/quicktime",
        "txt": "text/plain",
    }
)
# Gemini 3 refuses a replayed function call without a signature (e.g. one a Claude or OpenAI
# model made earlier in the conversation); Google documents this value to skip the check.
SKIP_SIGNATURE: Final = "skip_thought_signature_validator"
# "none" on 2.5 Pro, which cannot turn thinking off: its smallest budget.
PRO_MIN_BUDGET: Final = 128


@dataclass(frozen=True, slots=True)
class GeminiCall:
    """A converted request: the model for the URL (suffix stripped) and the JSON body."""

    model: str
    body: JSONObject = field(default_factory=dict)


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _signature(call: JSONObject) -> str | None:
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


# ---------------------------------------------------------------- request: OpenAI -> Gemini


def chat_request_to_gemini(
    body: JSONObject, *, upstream_model: str, safety_threshold: str = "OFF"
) -> GeminiCall:
    """A chat-completions body as a ``generateContent`` body for a Gemini channel.

    ``upstream_model`` may carry new-api's thinking suffix; the returned model has it stripped.
    Fields Gemini has no equivalent for (logprobs, user, parallel_tool_calls...) are dropped.
    """
    model, suffix_thinking = thinking_suffix(upstream_model)
    system, contents = _contents(_dicts(body.get("messages")), model)
    request: JSONObject = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": system}
    _copy_tools(body, request)
    config = _generation_config(body)
    thinking = suffix_thinking or _thinking_config(body, model)
    if thinking:
        config["thinkingConfig"] = thinking
    if config:
        request["generationConfig"] = config
    request["safetySettings"] = [
        {"category": category, "threshold": safety_threshold} for category in SAFETY_CATEGORIES
    ]
    return GeminiCall(model=model, body=request)


def _contents(messages: list[JSONObject], model: str) -> tuple[list[JSONObject], list[JSONObject]]:
    system: list[JSONObject] = []
    contents: list[JSONObject] = []
    call_names: dict[str, str] = {}  # tool_call id -> function name, for functionResponse
    for message in messages:
        role = message.get("role") or "user"
        if role in ("system", "developer"):
            system += _text_parts(message.get("content"))
        elif role == "assistant":
            _append(contents, "model", _model_parts(message, call_names, model))
        elif role == "tool":
            _append(contents, "user", [_function_response(message, call_names)])
        else:
            _append(contents, "user", _user_parts(message.get("content")))
    return system, contents


def _append(contents: list[JSONObject], role: str, parts: list[JSONObject]) -> None:
    """Gemini wants alternating roles: a same-role message joins the previous turn, so the
    results of parallel calls travel in one user turn, as Gemini requires."""
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"] += parts
    else:
        contents.append({"role": role, "parts": parts})


def _text_parts(content: Any) -> list[JSONObject]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [
        {"text": part["text"]}
        for part in _dicts(content)
        if part.get("type") in ("text", "refusal") and isinstance(part.get("text"), str)
        if part["text"]
    ]


def _user_parts(content: Any) -> list[JSONObject]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [converted for part in _dicts(content) if (converted := _user_part(part)) is not None]


def _user_part(part: JSONObject) -> JSONObject | None:
    match part.get("type"):
        case "text" | "refusal":
            text = part.get("text")
            return {"text": text} if isinstance(text, str) and text else None
        case "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            return _media_part(url, "image/png") if isinstance(url, str) else None
        case "input_audio":
            audio = part.get("input_audio")
            if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
                return None
            audio_format = str(audio.get("format") or "wav")
            mime = "audio/mpeg" if audio_format == "mp3" else f"audio/{audio_format}"
            return {"inlineData": {"mimeType": mime, "data": audio["data"]}}
        case "file":
            file = part.get("file")
            data = file.get("file_data") if isinstance(file, dict) else None
            return _media_part(data, "application/pdf") if isinstance(data, str) else None
        case _:
            return None


def _media_part(url: str, fallback_mime: str) -> JSONObject | None:
    """A data URI as inlineData; any other URL as fileData, its type guessed from the path
    (Gemini requires a mimeType on fileData; ``fallback_mime`` when the path says nothing)."""
    parsed = parse_data_uri(url)
    if parsed is not None:
        return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
    if not url.startswith(("http://", "https://", "gs://")):
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {"fileData": {"mimeType": MIME_TYPES.get(extension, fallback_mime), "fileUri": url}}


def _model_parts(message: JSONObject, call_names: dict[str, str], model: str) -> list[JSONObject]:
    # reasoning_content is not sent back: Gemini keeps its reasoning in thought signatures.
    parts = _text_parts(message.get("content"))
    first_call = True
    for call in _dicts(message.get("tool_calls")):
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        name: str = function["name"]
        if isinstance(call.get("id"), str):
            call_names[call["id"]] = name
        part: JSONObject = {
            "functionCall": {"name": name, "args": load_arguments(function.get("arguments"))}
        }
        signature = _signature(call)
        if signature is None and first_call and model.startswith("gemini-3"):
            signature = SKIP_SIGNATURE
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
        first_call = False
    return parts


def _function_response(message: JSONObject, call_names: dict[str, str]) -> JSONObject:
    call_id = str(message.get("tool_call_id") or "")
    name = call_names.get(call_id) or str(message.get("name") or "")
    content = message.get("content")
    text = content if isinstance(content, str) else text_of(content, "\n")
    response: JSONObject = {"content": text}
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            response = parsed
    return {"functionResponse": {"name": name, "response": response}}


def _copy_tools(body: JSONObject, request: JSONObject) -> None:
    declarations: list[JSONObject] = []
    builtins: list[JSONObject] = []
    for tool in _dicts(body.get("tools")):
        function = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(function, dict):
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name:
            continue
        if name in BUILTIN_TOOLS:
            builtins.append({name: {}})
            continue
        declaration: JSONObject = {"name": name}
        if isinstance(function.get("description"), str) and function["description"]:
            declaration["description"] = function["description"]
        parameters = function.get("parameters")
        # Gemini refuses an OBJECT schema with no properties: a no-argument function has none.
        if isinstance(parameters, dict) and parameters.get("properties"):
            declaration["parameters"] = clean_schema(parameters)
        declarations.append(declaration)
    tools = ([{"functionDeclarations": declarations}] if declarations else []) + builtins
    if tools:
        request["tools"] = tools
    config = _calling_config(body.get("tool_choice")) if declarations else None
    if config is not None:
        request["toolConfig"] = {"functionCallingConfig": config}


def _calling_config(choice: Any) -> JSONObject | None:
    match choice:
        case "auto":
            return {"mode": "AUTO"}
        case "none":
            return {"mode": "NONE"}
        case "required":
            return {"mode": "ANY"}
        case {"function": {"name": str(name)}}:
            return {"mode": "ANY", "allowedFunctionNames": [name]}
    return None


def _generation_config(body: JSONObject) -> JSONObject:
    config: JSONObject = {}
    for source, target in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if _number(body.get(source)):
            config[target] = body[source]
    max_tokens = _positive_int(body.get("max_completion_tokens")) or _positive_int(
        body.get("max_tokens")
    )
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    sequences = [s for s in stops if isinstance(s, str) and s][:MAX_STOP_SEQUENCES]
    if sequences:
        config["stopSequences"] = sequences
    if _positive_int(body.get("n")):
        config["candidateCount"] = body["n"]
    _copy_response_format(body.get("response_format"), config)
    return config


def _copy_response_format(response_format: Any, config: JSONObject) -> None:
    if not isinstance(response_format, dict):
        return
    kind = response_format.get("type")
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
    elif kind == "json_schema":
        config["responseMimeType"] = "application/json"
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            config["responseSchema"] = clean_schema(schema)


def _thinking_config(body: JSONObject, model: str) -> JSONObject | None:
    """Explicit thinking_config first, else a reasoning_effort translation."""
    explicit = _explicit_thinking(body)
    if explicit is not None:
        if explicit.get("thinkingBudget") != 0 and "includeThoughts" not in explicit:
            explicit["includeThoughts"] = True
        return explicit
    effort = body.get("reasoning_effort")
    if not isinstance(effort, str) or model.startswith(("gemini-1.", "gemini-2.0", "gemma")):
        return None  # these models do not think; a thinkingConfig would be refused
    if model.startswith("gemini-3"):
        level = EFFORT_LEVELS.get(effort)  # "none": Gemini 3 cannot stop thinking
        return {"thinkingLevel": level, "includeThoughts": True} if level else None
    if effort == "none":
        return {"thinkingBudget": PRO_MIN_BUDGET if "2.5-pro" in model else 0}
    budget = EFFORT_BUDGETS.get(effort)
    return {"thinkingBudget": budget, "includeThoughts": True} if budget else None


def _explicit_thinking(body: JSONObject) -> JSONObject | None:
    extra = body.get("extra_body")
    for holder in (extra.get("google") if isinstance(extra, dict) else None, body.get("google")):
        config = holder.get("thinking_config") if isinstance(holder, dict) else None
        if isinstance(config, dict):
            return {_camel(key): value for key, value in config.items()}
    return None


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


# ---------------------------------------------------------------- response: OpenAI -> Gemini


def chat_response_to_gemini(chat: JSONObject, *, model: str) -> JSONObject:
    """A ``chat.completion`` as a ``GenerateContentResponse`` for a Gemini caller."""
    candidates = []
    for position, choice in enumerate(_dicts(chat.get("choices"))):
        reply = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        parts: list[JSONObject] = []
        reasoning = reply.get("reasoning_content") or reply.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append({"text": reasoning, "thought": True})
        text = text_of(reply.get("content")) or reply.get("refusal") or ""
        if isinstance(text, str) and text:
            parts.append({"text": text})
        parts += [_call_part(call) for call in _dicts(reply.get("tool_calls"))]
        index = choice.get("index")
        candidates.append(
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": finish_reason_to_gemini(choice.get("finish_reason")),
                "index": index if isinstance(index, int) else position,
            }
        )
    return {
        "candidates": candidates,
        "usageMetadata": to_gemini(from_openai(chat.get("usage"))),
        "modelVersion": model,
        "responseId": str(chat.get("id") or ""),
    }


def _call_part(call: JSONObject) -> JSONObject:
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    part: JSONObject = {
        "functionCall": {
            "name": str(function.get("name") or ""),
            "args": load_arguments(function.get("arguments")),  # invalid JSON -> {}
        }
    }
    signature = _signature(call)
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


# ---------------------------------------------------------------- stream: OpenAI -> Gemini


@dataclass(slots=True)
class _PendingCall:
    name: str = ""
    arguments: str = ""
    signature: str | None = None


class ChatStreamToGemini:
    """OpenAI chunks in, Gemini stream chunks (``GenerateContentResponse`` dicts) out.

    Text and reasoning go out as they come. Tool-call arguments are buffered per (choice, call
    index) and sent as one ``functionCall`` part with the finish reason, since a Gemini part
    carries whole arguments. The usage chunk becomes a chunk with only ``usageMetadata``.
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._id = ""
        self._calls: dict[int, dict[int, _PendingCall]] = {}  # choice -> call index -> call
        self._finished: set[int] = set()  # choices whose finish chunk went out
        self._usage_sent = False

    def feed(self, chunk: JSONObject) -> list[JSONObject]:
        error = chunk.get("error")
        if isinstance(error, dict):
            raise StreamError(
                str(error.get("type") or error.get("code") or "api_error"),
                str(error.get("message") or "upstream stream error"),
            )
        if not self._id and isinstance(chunk.get("id"), str):
            self._id = chunk["id"]
        out: list[JSONObject] = []
        for position, choice in enumerate(_dicts(chunk.get("choices"))):
            index = choice.get("index") if isinstance(choice.get("index"), int) else position
            candidate = self._candidate(index, choice)
            if candidate is not None:
                out.append(self._response([candidate]))
        usage = from_openai(chunk.get("usage"))
        if not usage.is_empty:
            if out and "finishReason" in out[-1]["candidates"][-1]:
                out[-1]["usageMetadata"] = to_gemini(usage)
            else:
                out.append(self._response(None, usage))
            self._usage_sent = True
        return out

    def finish(self, usage: Usage | None = None) -> list[JSONObject]:
        """What is still pending: buffered calls and a finish reason for every choice that
        never got one, then ``usage`` (the relay's count) if no usage chunk went out."""
        candidates = [
            self._finish_candidate(index, "STOP")
            for index in sorted(set(self._calls) | ({0} - self._finished))
            if index not in self._finished
        ]
        out = [self._response(candidates)] if candidates else []
        if usage is not None and not self._usage_sent:
            if out:
                out[-1]["usageMetadata"] = to_gemini(usage)
            else:
                out.append(self._response(None, usage))
            self._usage_sent = True
        return out

    def _candidate(self, index: int, choice: JSONObject) -> JSONObject | None:
        if index in self._finished:
            return None
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        parts: list[JSONObject] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append({"text": reasoning, "thought": True})
        if isinstance(delta.get("content"), str) and delta["content"]:
            parts.append({"text": delta["content"]})
        for call in _dicts(delta.get("tool_calls")):
            self._buffer(index, call)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            candidate = self._finish_candidate(index, finish_reason_to_gemini(reason))
            candidate["content"]["parts"][:0] = parts
            return candidate
        if not parts:
            return None
        return {"content": {"role": "model", "parts": parts}, "index": index}

    def _buffer(self, index: int, call: JSONObject) -> None:
        calls = self._calls.setdefault(index, {})
        position = call.get("index") if isinstance(call.get("index"), int) else len(calls)
        pending = calls.setdefault(position, _PendingCall())
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if isinstance(function.get("name"), str) and function["name"]:
            pending.name = function["name"]
        if isinstance(function.get("arguments"), str):
            pending.arguments += function["arguments"]
        pending.signature = _signature(call) or pending.signature

    def _finish_candidate(self, index: int, reason: str) -> JSONObject:
        self._finished.add(index)
        calls = self._calls.pop(index, {})
        parts = []
        for position in sorted(calls):
            pending = calls[position]
            part: JSONObject = {
                "functionCall": {"name": pending.name, "args": load_arguments(pending.arguments)}
            }
            if pending.signature is not None:
                part["thoughtSignature"] = pending.signature
            parts.append(part)
        return {
            "content": {"role": "model", "parts": parts},
            "finishReason": reason,
            "index": index,
        }

    def _response(
        self, candidates: list[JSONObject] | None, usage: Usage | None = None
    ) -> JSONObject:
        response: JSONObject = {}
        if candidates is not None:
            response["candidates"] = candidates
        if usage is not None:
            response["usageMetadata"] = to_gemini(usage)
        response["modelVersion"] = self._model
        response["responseId"] = self._id
        return response
