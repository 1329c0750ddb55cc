"""Gemini API (generativelanguage.googleapis.com) answers, also used by Vertex AI's Google
publisher: generateContent, streamGenerateContent, countTokens, embeddings and the model list.

The response is a ``GenerateContentResponse``: ``candidates[{content: {role: "model", parts},
finishReason, index}]``, ``usageMetadata``, ``modelVersion``, ``responseId``. Parts: thought
text ``{"text", "thought": true}`` (only when the request sets
``generationConfig.thinkingConfig.includeThoughts``), text, then ``functionCall {name, args}``
parts, all of a response's parallel calls together; on gemini-3 models the first call part
carries a ``thoughtSignature`` (Gemini signs only the first of parallel calls).

Usage as Gemini reports it: ``promptTokenCount`` = ``Scenario.prompt_tokens`` (includes
``cachedContentTokenCount`` = ``cached_tokens``), ``candidatesTokenCount`` =
``completion_tokens`` and ``thoughtsTokenCount`` = ``reasoning_tokens`` are separate, and
``totalTokenCount`` is their sum.

Streams: one response object per text (or thought) piece and one with all function calls,
each with the prompt's usage only; a last object with an empty text part, ``finishReason`` and
the full usage. With ``?alt=sse`` they are ``data: <json>\\r\\n\\r\\n`` events; without it, one
JSON array sent element by element (``[{...}\\n,\\r\\n{...}\\n]``, pretty-printed as Google does)
with Content-Type application/json.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from bench.fakes import google_checks
from bench.fakes.call import Call, Event, Kind, json_response, send_stream
from bench.fakes.errors import google_error, stream_error_event
from bench.fakes.openai_extras import embedding_vector
from bench.fakes.scenario import FakeError, Scenario

_FINISH = {
    "stop": "STOP",
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_calls": "STOP",
    "tool_use": "STOP",
    "length": "MAX_TOKENS",
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "refusal": "SAFETY",
}
# An opaque stand-in for Gemini's encrypted signature (base64 of a protobuf in reality).
THOUGHT_SIGNATURE = "CiQB0e2Kb3JzZmFrZS10aG91Z2h0LXNpZ25hdHVyZS0wMDAxEgRmYWtl"
EMBEDDING_DIMENSIONS = 768  # when the request has no outputDimensionality
_PAGE_SIZE = 50  # models.list default pageSize
_ARRAY_SEPARATOR = b"\n,\r\n"


def finish_reason(scenario: Scenario) -> str:
    """Gemini's finishReason for the scenario's (OpenAI or Anthropic style) finish reason."""
    reason = scenario.finish_reason
    if not reason:
        return "STOP"
    return _FINISH.get(reason, reason.upper())


def _token_details(count: int) -> list[dict[str, Any]]:
    return [{"modality": "TEXT", "tokenCount": count}]


def usage_metadata(call: Call, final: bool = True) -> dict[str, Any]:
    """Full usage (``final``), or the prompt-only usage a stream's earlier chunks carry."""
    scenario = call.scenario
    prompt = scenario.prompt_tokens
    usage: dict[str, Any] = {"promptTokenCount": prompt, "totalTokenCount": prompt}
    if final:
        usage["candidatesTokenCount"] = scenario.completion_tokens
        usage["totalTokenCount"] = prompt + scenario.completion_tokens + scenario.reasoning_tokens
    usage["promptTokensDetails"] = _token_details(prompt)
    if scenario.cached_tokens:
        usage["cachedContentTokenCount"] = scenario.cached_tokens
        usage["cacheTokensDetails"] = _token_details(scenario.cached_tokens)
    if final and scenario.reasoning_tokens:
        usage["thoughtsTokenCount"] = scenario.reasoning_tokens
    if call.provider == "vertex":
        usage["trafficType"] = "ON_DEMAND"
    return usage


def function_call_parts(call: Call) -> list[dict[str, Any]]:
    """All of the response's function calls; the first is signed on gemini-3 models."""
    parts: list[dict[str, Any]] = []
    for tool in call.scenario.tool_calls:
        function_call: dict[str, Any] = {"name": tool.name, "args": tool.input_object()}
        if tool.id:
            function_call["id"] = tool.id
        parts.append({"functionCall": function_call})
    if parts and google_checks.signs_function_calls(_path_model(call)):
        parts[0]["thoughtSignature"] = THOUGHT_SIGNATURE
    return parts


def _path_model(call: Call) -> str:
    return call.request.match_info.get("model", "")


def _response_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


def _envelope(call: Call, response_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"modelVersion": call.model, "responseId": response_id}
    if call.provider == "vertex":
        now = datetime.datetime.now(datetime.UTC)
        body["createTime"] = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return body


def _candidate(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return candidate


def generate_response(call: Call) -> dict[str, Any]:
    """The non-stream ``GenerateContentResponse``."""
    scenario = call.scenario
    parts: list[dict[str, Any]] = []
    if scenario.thinking and google_checks.wants_thoughts(call.body):
        parts.append({"text": scenario.thinking, "thought": True})
    if scenario.text:
        parts.append({"text": scenario.text})
    parts += function_call_parts(call)
    body = {"candidates": [_candidate(parts, finish_reason(scenario))]}
    body["usageMetadata"] = usage_metadata(call)
    return body | _envelope(call, _response_id())


def stream_chunks(call: Call) -> list[tuple[dict[str, Any], Kind]]:
    """The stream's response objects in order, each with its kind (content or tail)."""
    scenario, response_id = call.scenario, _response_id()
    pieces: list[dict[str, Any]] = []
    if google_checks.wants_thoughts(call.body):
        pieces += [{"text": piece, "thought": True} for piece in scenario.thinking_pieces()]
    pieces += [{"text": piece} for piece in scenario.text_pieces()]
    contents = [[piece] for piece in pieces]
    calls = function_call_parts(call)
    if calls:
        contents.append(calls)
    partial_usage = usage_metadata(call, final=False)
    chunks = [
        ({"candidates": [_candidate(parts)], "usageMetadata": partial_usage}, Kind.CONTENT)
        for parts in contents
    ]
    last = {"candidates": [_candidate([{"text": ""}], finish_reason(scenario))]}
    last["usageMetadata"] = usage_metadata(call)
    chunks.append((last, Kind.TAIL))
    return [(body | _envelope(call, response_id), kind) for body, kind in chunks]


def uses_sse(call: Call) -> bool:
    return call.request.query.get("alt") == "sse"


def _sse(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\r\n\r\n"


def _array_element(payload: Any, first: bool) -> bytes:
    # Google pretty-prints the elements of a non-SSE stream.
    return (b"[" if first else _ARRAY_SEPARATOR) + orjson.dumps(payload, option=orjson.OPT_INDENT_2)


def _array_error(call: Call, content_count: int) -> Callable[[FakeError], bytes]:
    def error_element(error: FakeError) -> bytes:
        sent_any = min(error.after_chunks or 0, content_count) > 0
        return _array_element(google_error(call, error), not sent_any) + b"\n]"

    return error_element


async def generate(call: Call) -> web.StreamResponse:
    """POST ``/{version}/models/{model}:generateContent`` (and ``:streamGenerateContent``)."""
    if not call.stream:
        return json_response(call, generate_response(call))
    chunks = stream_chunks(call)
    if uses_sse(call):
        events = [Event(_sse(body), kind) for body, kind in chunks]
        return await send_stream(call, events, lambda error: stream_error_event(call, error))
    events = [Event(_array_element(body, i == 0), kind) for i, (body, kind) in enumerate(chunks)]
    events.append(Event(b"\n]", Kind.TAIL))
    contents = sum(kind is Kind.CONTENT for _, kind in chunks)
    return await send_stream(call, events, _array_error(call, contents), "application/json")


async def count_tokens(call: Call) -> web.StreamResponse:
    """POST ``...:countTokens``: ``{totalTokens, cachedContentTokenCount?, ...}``."""
    scenario = call.scenario
    body: dict[str, Any] = {"totalTokens": scenario.prompt_tokens}
    if scenario.cached_tokens:
        body["cachedContentTokenCount"] = scenario.cached_tokens
    body["promptTokensDetails"] = _token_details(scenario.prompt_tokens)
    return json_response(call, body)


def _embedding(request: dict[str, Any]) -> dict[str, Any]:
    content = google_checks.field(request, "content")
    texts = [part.get("text", "") for part in content["parts"] if isinstance(part, dict)]
    dimensions = google_checks.field(request, "outputDimensionality")
    size = int(float(dimensions)) if dimensions is not None else EMBEDDING_DIMENSIONS
    return {"values": embedding_vector("\n".join(texts), size)}


async def embed(call: Call) -> web.StreamResponse:
    """POST ``...:embedContent`` -> ``{"embedding": {"values": [...]}}``."""
    return json_response(call, {"embedding": _embedding(call.body)})


async def batch_embed(call: Call) -> web.StreamResponse:
    """POST ``...:batchEmbedContents`` -> ``{"embeddings": [{"values": [...]}, ...]}``."""
    requests = google_checks.field(call.body, "requests")
    return json_response(call, {"embeddings": [_embedding(request) for request in requests]})


def model_info(name: str) -> dict[str, Any]:
    """One ``Model`` resource of the list, with plausible limits for its kind."""
    embedding = "embedding" in name
    methods = (
        ["embedContent", "countTokens"]
        if embedding
        else [
            "generateContent",
            "countTokens",
            "createCachedContent",
            "batchGenerateContent",
        ]
    )
    info: dict[str, Any] = {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name.replace("-", " ").title(),
        "description": f"Fake {name}",
        "inputTokenLimit": 2048 if embedding else 1048576,
        "outputTokenLimit": 1 if embedding else 65536,
        "supportedGenerationMethods": methods,
    }
    if not embedding:
        info |= {"temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2}
        info["thinking"] = name.startswith(("gemini-2.5", "gemini-3"))
    return info


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


async def list_models(call: Call) -> web.StreamResponse:
    """GET ``/{version}/models?pageSize=&pageToken=``: ``{models, nextPageToken?}``."""
    names = call.scenario.gemini_models
    size_text = call.request.query.get("pageSize", "")
    size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else _PAGE_SIZE
    token = call.request.query.get("pageToken", "")
    offset = _offset(token) if token else 0
    if offset is None:
        return json_response(call, google_error(call, _bad_token()), status=400)
    body: dict[str, Any] = {"models": [model_info(n) for n in names[offset : offset + size]]}
    if offset + size < len(names):
        body["nextPageToken"] = _page_token(offset + size)
    return json_response(call, body)


def _bad_token() -> FakeError:
    return FakeError(400, "Invalid page token.")


async def get_model(call: Call) -> web.StreamResponse:
    """GET ``/{version}/models/{model}``: the ``Model``, or 404 for a model not listed."""
    name = _path_model(call)
    if name not in call.scenario.gemini_models:
        message = f"models/{name} is not found for API version "
        message += f"{call.request.match_info.get('version', 'v1beta')}, or is not supported "
        message += "for GetModel. Call ListModels to see the list of available models."
        return json_response(call, google_error(call, FakeError(404, message)), status=404)
    return json_response(call, model_info(name))


def check_generate(call: Call) -> FakeError | None:
    return google_checks.check_generate(call.body, _path_model(call))


def check_count(call: Call) -> FakeError | None:
    return google_checks.check_count(call.body)


def check_embed(call: Call) -> FakeError | None:
    return google_checks.check_embed(call.body)


def check_batch_embed(call: Call) -> FakeError | None:
    return google_checks.check_batch_embed(call.body)
