"""OpenAI's Responses API, audio (speech, transcriptions, translations) and images, faked.

- ``POST /v1/responses``: the ``response`` object (``output`` items: a ``reasoning`` item when
  the scenario thinks, a ``message`` with ``output_text``, then one ``function_call`` or
  ``custom_tool_call`` per scenario tool call; ``usage`` with ``input_tokens``/``output_tokens``),
  or with ``stream: true`` the named events ``response.created``, ``response.in_progress``,
  ``response.output_item.added``, ``response.reasoning_summary_text.delta``,
  ``response.content_part.added``, ``response.output_text.delta``,
  ``response.function_call_arguments.delta``, ``response.custom_tool_call_input.delta``...
  ``response.completed`` (the full response, usage included). As on the real API the reasoning
  item carries its summary only when the request asks for one (``reasoning.summary``) and its
  ``encrypted_content`` only with ``include: ["reasoning.encrypted_content"]``. Like the real API
  it rejects ``stream_options`` other than ``include_obfuscation`` (``include_usage`` is a
  chat-completions option).
- ``POST /v1/audio/speech``: JSON in, audio bytes out (:func:`speech_audio`, ``audio/mpeg``
  for mp3).
- ``POST /v1/audio/transcriptions`` and ``/translations``: multipart in (the form is parsed by
  :func:`parse_form`, files as :class:`UploadedFile`). ``gpt-4o*`` models report token usage
  (``input_token_details`` split into text and audio), ``whisper-1`` a duration
  (:data:`BYTES_PER_SECOND` of upload per second); ``response_format`` json, text, srt, vtt,
  verbose_json; ``stream=true`` on ``gpt-4o*`` sends ``transcript.text.delta`` events and a
  ``transcript.text.done`` with usage.
- ``POST /v1/images/generations`` (JSON) and ``/v1/images/edits`` (multipart): ``data`` with
  ``url`` or ``b64_json`` items; ``gpt-image-*`` always answers ``b64_json`` with token usage.

Every text comes from ``Scenario.text`` and every token count from the scenario's
``prompt_tokens``/``completion_tokens``, as for chat.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from bench.fakes.call import (
    Call,
    Event,
    Kind,
    json_response,
    new_id,
    response_headers,
    send_stream,
    sse_data,
    sse_named,
)
from bench.fakes.errors import error_body, error_response
from bench.fakes.openai import finish_reason
from bench.fakes.scenario import FakeError, Scenario

BYTES_PER_SECOND = 16_000  # whisper-1's reported duration: one second per 16 kB uploaded
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_AUDIO_MAGIC = {"mp3": b"ID3", "opus": b"OggS", "aac": b"\xff\xf1", "flac": b"fLaC", "wav": b"RIFF"}
_TOKEN_TRANSCRIBERS = ("gpt-4o",)  # gpt-4o-transcribe, gpt-4o-mini-transcribe: token usage
_FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
_STREAM_OPTIONS = frozenset({"include_obfuscation"})
_DISPOSITION = re.compile(rb';\s*(name|filename)=(?:"([^"]*)"|([^;\s]*))', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


# ---- multipart ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file part of a multipart form, as received."""

    filename: str
    content_type: str
    data: bytes


def _boundary(content_type: str) -> bytes | None:
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)).encode("latin-1") if match else None


def _part(head: bytes, body: bytes) -> tuple[str, Any] | None:
    params = {
        m.group(1).lower().decode(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _DISPOSITION.finditer(head)
    }
    name = params.get("name")
    if name is None:
        return None
    filename = params.get("filename")
    if filename is None:
        return name.decode("utf-8", "replace"), body.decode("utf-8", "replace")
    content_type = b"application/octet-stream"
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-type":
            content_type = value.strip()
    upload = UploadedFile(filename.decode("utf-8", "replace"), content_type.decode(), body)
    return name.decode("utf-8", "replace"), upload


def parse_form(content_type: str, raw: bytes) -> dict[str, Any] | None:
    """A ``multipart/form-data`` body as {name: text or UploadedFile}; None when it is not one.

    A name sent more than once (``image[]``) maps to a list of its values, in order.
    """
    boundary = _boundary(content_type)
    if boundary is None:
        return None
    delimiter = b"--" + boundary
    form: dict[str, Any] = {}
    for chunk in raw.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, body = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        parsed = _part(head, body.removesuffix(b"\r\n")) if separator else None
        if parsed is None:
            return None
        name, value = parsed
        if name in form:
            previous = form[name]
            form[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            form[name] = value
    return form


def form_error(call: Call) -> FakeError:
    content_type = call.request.headers.get("Content-Type", "")
    return FakeError(
        400,
        f"Invalid Content-Type header ({content_type}), expected multipart/form-data. (HINT: "
        "If you're using curl, you can pass -H 'Content-Type: multipart/form-data')",
    )


def _bad_parameter(call: Call, message: str, param: str) -> web.Response:
    return error_response(call, FakeError(400, message, param=param, code="invalid_value"))


# ---- Responses API -----------------------------------------------------------------------------


def responses_usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "input_tokens": scenario.prompt_tokens,
        "input_tokens_details": {"cached_tokens": scenario.cached_tokens},
        "output_tokens": scenario.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": scenario.reasoning_tokens},
        "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _echoed_reasoning(requested: Any) -> dict[str, Any]:
    requested = requested if isinstance(requested, dict) else {}
    return {"effort": requested.get("effort"), "summary": requested.get("summary")}


class _ResponseMaker:
    """The ids and echoed request fields one response (plain or streamed) shares."""

    def __init__(self, call: Call) -> None:
        self.call, self.scenario = call, call.scenario
        self.id, self.created = new_id("resp_"), int(time.time())
        self.message_id, self.reasoning_id = new_id("msg_"), new_id("rs_")
        self.calls = [
            (new_id("ctc_" if tool.custom else "fc_"), tool.id or new_id("call_"), tool)
            for tool in self.scenario.tool_calls
        ]
        self.sequence = 0

    @property
    def has_reasoning(self) -> bool:
        return bool(self.scenario.thinking)

    @property
    def has_message(self) -> bool:
        return bool(self.scenario.text) or not self.calls

    @property
    def message_index(self) -> int:
        return 1 if self.has_reasoning else 0

    @property
    def first_call_index(self) -> int:
        return self.message_index + (1 if self.has_message else 0)

    @property
    def summarized(self) -> bool:
        """Whether the request asked for reasoning summaries (``reasoning.summary``)."""
        reasoning = self.call.body.get("reasoning")
        return isinstance(reasoning, dict) and bool(reasoning.get("summary"))

    def reasoning(self, summary: str | None) -> dict[str, Any]:
        parts = [] if summary is None else [{"type": "summary_text", "text": summary}]
        item: dict[str, Any] = {"id": self.reasoning_id, "type": "reasoning", "summary": parts}
        if "reasoning.encrypted_content" in (self.call.body.get("include") or []):
            # Opaque to callers; the real API's is a Fernet token. Stable per thought.
            digest = hashlib.sha256((self.scenario.thinking or "").encode()).hexdigest()
            item["encrypted_content"] = "gAAAAA" + digest
        return item

    @property
    def incomplete(self) -> bool:
        return finish_reason(self.scenario) == "length"

    def message(self, status: str, text: str | None) -> dict[str, Any]:
        content = [] if text is None else [_text_part(text)]
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def function_call(self, index: int, status: str, arguments: str) -> dict[str, Any]:
        item_id, call_id, tool = self.calls[index]
        if tool.custom:
            return {
                "id": item_id,
                "type": "custom_tool_call",
                "status": status,
                "call_id": call_id,
                "input": arguments,
                "name": tool.name,
            }
        return {
            "id": item_id,
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": call_id,
            "name": tool.name,
        }

    def output(self) -> list[dict[str, Any]]:
        summary = self.scenario.thinking if self.summarized else None
        items = [self.reasoning(summary)] if self.has_reasoning else []
        if self.has_message:
            items.append(self.message("completed", self.scenario.text))
        for index, (_, _, tool) in enumerate(self.calls):
            items.append(self.function_call(index, "completed", tool.arguments_json))
        return items

    def response(self, status: str, output: list[dict[str, Any]], usage: bool) -> dict[str, Any]:
        body = self.call.body
        reason = {"reason": "max_output_tokens"} if status == "incomplete" else None
        response: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": reason,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": self.call.model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": _echoed_reasoning(body.get("reasoning")),
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": responses_usage(self.scenario) if usage else None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }
        if self.call.provider == "openai":
            response["service_tier"] = "default"
        return response

    def final(self) -> dict[str, Any]:
        status = "incomplete" if self.incomplete else "completed"
        return self.response(status, self.output(), usage=True)

    def event(self, name: str, kind: Kind = Kind.FRAME, **fields: Any) -> Event:
        payload = {"type": name, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return Event(sse_named(name, payload), kind)

    def error_event(self, error: FakeError) -> bytes:
        detail = error_body(self.call, error).get("error") or {}
        payload = {
            "type": "error",
            "code": detail.get("code"),
            "message": detail.get("message"),
            "param": detail.get("param"),
            "sequence_number": self.sequence,
        }
        return sse_named("error", payload)


def _reasoning_events(maker: _ResponseMaker) -> list[Event]:
    at = {"item_id": maker.reasoning_id, "output_index": 0}
    events = [maker.event("response.output_item.added", output_index=0, item=maker.reasoning(None))]
    thinking = maker.scenario.thinking or ""
    if maker.summarized:
        summary = {"type": "summary_text", "text": thinking}
        events.append(
            maker.event(
                "response.reasoning_summary_part.added",
                summary_index=0,
                part={"type": "summary_text", "text": ""},
                **at,
            )
        )
        for piece in maker.scenario.thinking_pieces():
            events.append(
                maker.event(
                    "response.reasoning_summary_text.delta",
                    Kind.CONTENT,
                    summary_index=0,
                    delta=piece,
                    **at,
                )
            )
        events += [
            maker.event(
                "response.reasoning_summary_text.done", summary_index=0, text=thinking, **at
            ),
            maker.event(
                "response.reasoning_summary_part.done", summary_index=0, part=summary, **at
            ),
        ]
    done = maker.reasoning(thinking if maker.summarized else None)
    events.append(maker.event("response.output_item.done", output_index=0, item=done))
    return events


def _message_events(maker: _ResponseMaker) -> list[Event]:
    index = maker.message_index
    ids = {"item_id": maker.message_id, "output_index": index, "content_index": 0}
    text = maker.scenario.text
    events = [
        maker.event(
            "response.output_item.added",
            output_index=index,
            item=maker.message("in_progress", None),
        ),
        maker.event("response.content_part.added", part=_text_part(""), **ids),
    ]
    for piece in maker.scenario.text_pieces():
        events.append(
            maker.event("response.output_text.delta", Kind.CONTENT, delta=piece, logprobs=[], **ids)
        )
    events += [
        maker.event("response.output_text.done", text=text, logprobs=[], **ids),
        maker.event("response.content_part.done", part=_text_part(text), **ids),
        maker.event(
            "response.output_item.done", output_index=index, item=maker.message("completed", text)
        ),
    ]
    return events


def _function_call_events(maker: _ResponseMaker, first_index: int) -> list[Event]:
    events: list[Event] = []
    for index, (item_id, _, tool) in enumerate(maker.calls):
        at = first_index + index
        item = maker.function_call(index, "in_progress", "")
        events.append(maker.event("response.output_item.added", output_index=at, item=item))
        stem, field = (
            ("custom_tool_call_input", "input")
            if tool.custom
            else (
                "function_call_arguments",
                "arguments",
            )
        )
        delta, done = f"response.{stem}.delta", f"response.{stem}.done"
        for piece in tool.argument_pieces():
            events.append(
                maker.event(delta, Kind.CONTENT, item_id=item_id, output_index=at, delta=piece)
            )
        arguments = tool.arguments_json
        events += [
            maker.event(done, item_id=item_id, output_index=at, **{field: arguments}),
            maker.event(
                "response.output_item.done",
                output_index=at,
                item=maker.function_call(index, "completed", arguments),
            ),
        ]
    return events


def response_events(maker: _ResponseMaker) -> list[Event]:
    """Every named SSE event of a streamed response, in order."""
    started = maker.response("in_progress", [], usage=False)
    events = [
        maker.event("response.created", response=started),
        maker.event("response.in_progress", response=started),
    ]
    if maker.has_reasoning:
        events += _reasoning_events(maker)
    if maker.has_message:
        events += _message_events(maker)
    events += _function_call_events(maker, maker.first_call_index)
    final = maker.final()
    events.append(maker.event(f"response.{final['status']}", Kind.TAIL, response=final))
    return events


def _stream_options_error(call: Call) -> web.Response | None:
    options = call.body.get("stream_options")
    if options is None:
        return None
    unknown = sorted(set(options) - _STREAM_OPTIONS) if isinstance(options, dict) else ["*"]
    if unknown:
        message = f"Unknown parameter: 'stream_options.{unknown[0]}'."
        param = f"stream_options.{unknown[0]}"
        return error_response(call, FakeError(400, message, param=param, code="unknown_parameter"))
    return None


async def responses(call: Call) -> web.StreamResponse:
    """POST /v1/responses (and Azure's v1 path)."""
    refused = _stream_options_error(call)
    if refused is not None:
        return refused
    maker = _ResponseMaker(call)
    if call.stream:
        return await send_stream(call, response_events(maker), maker.error_event)
    return json_response(call, maker.final())


async def compact(call: Call) -> web.StreamResponse:
    """POST /v1/responses/compact: the conversation's user messages kept, everything else
    replaced by one ``compaction`` item with opaque ``encrypted_content`` (OpenAI's documented
    shape); usage as for a response."""
    items = call.body.get("input") if isinstance(call.body, dict) else None
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    kept = [i for i in items or () if isinstance(i, dict) and i.get("role") == "user"]
    sealed = base64.b64encode(f"compacted {len(items or ())} items".encode()).decode()
    compaction = {"type": "compaction", "id": new_id("cmp_"), "encrypted_content": sealed}
    body = {
        "id": new_id("resp_"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "model": call.body.get("model"),
        "output": [*kept, compaction],
        "usage": responses_usage(call.scenario),
    }
    return json_response(call, body)


# ---- audio -------------------------------------------------------------------------------------


def speech_audio(text: str, voice: str = "alloy", response_format: str = "mp3") -> bytes:
    """The bytes the fake "speaks" for ``text``: the format's magic, then a digest pattern."""
    digest = hashlib.sha256(f"{voice}\n{text}".encode()).digest()
    return _AUDIO_MAGIC.get(response_format, b"") + digest * 8


async def speech(call: Call) -> web.StreamResponse:
    """POST /v1/audio/speech: JSON in, audio bytes out."""
    response_format = call.body.get("response_format") or "mp3"
    if response_format not in AUDIO_TYPES:
        return _bad_parameter(
            call,
            f"Invalid value: '{response_format}'. Supported values are: "
            f"{', '.join(map(repr, AUDIO_TYPES))}.",
            "response_format",
        )
    audio = speech_audio(str(call.body["input"]), str(call.body["voice"]), response_format)
    headers = response_headers(call.provider)
    return web.Response(body=audio, content_type=AUDIO_TYPES[response_format], headers=headers)


def _upload(call: Call) -> UploadedFile | None:
    upload = call.body.get("file")
    return upload if isinstance(upload, UploadedFile) else None


def audio_seconds(upload: UploadedFile) -> int:
    return max(1, math.ceil(len(upload.data) / BYTES_PER_SECOND))


def transcription_usage(call: Call, upload: UploadedFile) -> dict[str, Any]:
    scenario = call.scenario
    if not call.model.startswith(_TOKEN_TRANSCRIBERS):
        return {"type": "duration", "seconds": audio_seconds(upload)}
    text_tokens = min(scenario.prompt_tokens, len(str(call.body.get("prompt") or "").split()))
    return {
        "type": "tokens",
        "input_tokens": scenario.prompt_tokens,
        "input_token_details": {
            "text_tokens": text_tokens,
            "audio_tokens": scenario.prompt_tokens - text_tokens,
        },
        "output_tokens": scenario.completion_tokens,
        "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
    }


def _subtitles(text: str, seconds: int, vtt: bool) -> str:
    end = f"00:00:{min(seconds, 59):02d}"
    if vtt:
        return f"WEBVTT\n\n00:00:00.000 --> {end}.000\n{text}\n\n"
    return f"1\n00:00:00,000 --> {end},000\n{text}\n\n"


def _verbose(task: str, text: str, seconds: int) -> dict[str, Any]:
    segment = {
        "id": 0,
        "seek": 0,
        "start": 0.0,
        "end": float(seconds),
        "text": text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": -0.2,
        "compression_ratio": 1.0,
        "no_speech_prob": 0.01,
    }
    return {
        "task": task,
        "language": "english",
        "duration": float(seconds),
        "text": text,
        "segments": [segment],
    }


def _audio_answer(call: Call, task: str, upload: UploadedFile) -> web.Response:
    text, seconds = call.scenario.text, audio_seconds(upload)
    response_format = call.body.get("response_format") or "json"
    usage = transcription_usage(call, upload) if task == "transcribe" else None
    if response_format in ("text", "srt", "vtt"):
        body = (
            text + "\n"
            if response_format == "text"
            else _subtitles(text, seconds, vtt=response_format == "vtt")
        )
        return web.Response(
            text=body, content_type="text/plain", headers=response_headers(call.provider)
        )
    payload = _verbose(task, text, seconds) if response_format == "verbose_json" else {"text": text}
    if usage is not None:
        payload["usage"] = usage
    return json_response(call, payload)


def _transcript_events(call: Call, upload: UploadedFile) -> list[Event]:
    events = [
        Event(
            sse_data({"type": "transcript.text.delta", "delta": piece, "logprobs": []}),
            Kind.CONTENT,
        )
        for piece in call.scenario.text_pieces()
    ]
    done = {
        "type": "transcript.text.done",
        "text": call.scenario.text,
        "logprobs": [],
        "usage": transcription_usage(call, upload),
    }
    return [*events, Event(sse_data(done), Kind.TAIL)]


def _audio_checks(call: Call, task: str) -> web.Response | None:
    response_format = call.body.get("response_format") or "json"
    allowed = (
        ("json", "text")
        if call.model.startswith(_TOKEN_TRANSCRIBERS)
        else ("json", "text", "srt", "vtt", "verbose_json")
    )
    if task == "translate" and call.model.startswith(_TOKEN_TRANSCRIBERS):
        return _bad_parameter(
            call, f"Model {call.model} is not supported for translations.", "model"
        )
    if response_format not in allowed:
        return _bad_parameter(
            call,
            f"response_format '{response_format}' is not compatible with model "
            f"'{call.model}'. Use one of: {', '.join(allowed)}.",
            "response_format",
        )
    return None


async def _audio(call: Call, task: str) -> web.StreamResponse:
    upload = _upload(call)
    if upload is None:
        return _bad_parameter(call, "Missing required parameter: 'file'.", "file")
    refused = _audio_checks(call, task)
    if refused is not None:
        return refused
    token_model = call.model.startswith(_TOKEN_TRANSCRIBERS)
    if task == "transcribe" and token_model and call.body.get("stream") == "true":
        events = _transcript_events(call, upload)
        return await send_stream(call, events, partial(_stream_error, call))
    return _audio_answer(call, task, upload)


def _stream_error(call: Call, error: FakeError) -> bytes:
    return sse_data(error_body(call, error))


async def transcriptions(call: Call) -> web.StreamResponse:
    """POST /v1/audio/transcriptions (multipart)."""
    return await _audio(call, "transcribe")


async def translations(call: Call) -> web.StreamResponse:
    """POST /v1/audio/translations (multipart): English text, no usage."""
    return await _audio(call, "translate")


# ---- images ------------------------------------------------------------------------------------


def image_b64() -> str:
    return base64.b64encode(_FAKE_PNG).decode()


def _count(value: Any) -> int:
    try:
        return max(1, int(value)) if value not in (None, "") else 1
    except (TypeError, ValueError):
        return 1


def _image_usage(scenario: Scenario, edit: bool) -> dict[str, Any]:
    image_tokens = scenario.prompt_tokens // 2 if edit else 0
    return {
        "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
        "input_tokens": scenario.prompt_tokens,
        "output_tokens": scenario.completion_tokens,
        "input_tokens_details": {
            "text_tokens": scenario.prompt_tokens - image_tokens,
            "image_tokens": image_tokens,
        },
    }


def images_body(call: Call, edit: bool) -> dict[str, Any]:
    token_model = call.model.startswith("gpt-image")
    as_b64 = token_model or call.body.get("response_format") == "b64_json"
    items: list[dict[str, Any]] = []
    for _ in range(_count(call.body.get("n"))):
        image_id = new_id("img-")
        items.append(
            {"b64_json": image_b64()}
            if as_b64
            else {"url": f"https://images.fake.invalid/{image_id}.png"}
        )
    body: dict[str, Any] = {"created": int(time.time()), "data": items}
    if token_model:
        body["usage"] = _image_usage(call.scenario, edit)
    return body


async def image_generations(call: Call) -> web.StreamResponse:
    """POST /v1/images/generations."""
    return json_response(call, images_body(call, edit=False))


async def image_edits(call: Call) -> web.StreamResponse:
    """POST /v1/images/edits (multipart): ``image`` (or ``image[]``) and ``prompt``."""
    images = call.body.get("image") or call.body.get("image[]")
    if not images:
        return _bad_parameter(call, "Missing required parameter: 'image'.", "image")
    return json_response(call, images_body(call, edit=True))
