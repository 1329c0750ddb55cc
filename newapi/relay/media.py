"""``/v1/audio/*`` and ``/v1/images/edits``: media bodies forwarded as the caller sent them.

- Speech is JSON in, audio out, billed new-api's way: the input's characters are the prompt
  tokens (``tts-*`` models; other models count the input's tokens), nothing is completion.
- Transcriptions, translations and image edits are ``multipart/form-data``: the model is read
  from the form, and the body goes upstream byte for byte under the caller's own boundary; only
  a mapped (or defaulted) model is written into it. Usage comes from the answer: ``usage`` when
  upstream reports tokens, whisper's ``seconds`` as new-api counts them (1000 tokens a minute)
  plus the transcript's tokens, else an estimate from the transcript. An image edit priced per
  call (``ModelPrice``) costs its price whatever the usage.

Streams (``stream=true`` transcriptions, ``stream_format: sse`` speech) pass through event by
event; usage is read from any event that carries it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Response, after_this_request, request

from newapi.adaptors.base import Adaptor
from newapi.errors import InvalidRelayRequest
from newapi.protocol import sse
from newapi.protocol.tokens import StreamCounter, count_text
from newapi.protocol.usage import Usage, from_openai
from newapi.relay import relay_blueprint
from newapi.relay.auth import authenticate
from newapi.relay.http_connection import body_after_checks, open_body
from newapi.relay.job import Job
from newapi.relay.openai_api import relay
from newapi.relay.pipeline import (
    finish_plain,
    open_for_job,
    read_json,
    relay_stream,
    start_job,
)
from newapi.relay.ratelimit import admit
from newapi.relay.stream import STREAM_HEADERS
from newapi.relay.translate import StreamTranslator, chat_stream_error
from newapi.relay.upstream import Opened
from newapi.routing.index import ChannelSnapshot
from newapi.state import AppState, app_state

bp = relay_blueprint("relay_media")

SPEECH_MODEL = "tts-1"
AUDIO_MODEL = "whisper-1"
TOKENS_PER_AUDIO_MINUTE = 1000  # new-api's count for a transcription priced by duration
# OpenAI: an edit without a model is dall-e-2 unless it uses a parameter only gpt-image-1 has.
GPT_IMAGE_FIELDS = frozenset(
    {
        "background",
        "image[]",  # several images
        "input_fidelity",
        "moderation",
        "output_compression",
        "output_format",
        "partial_images",
        "stream",
    }
)
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_DISPOSITION = re.compile(rb';\s*(name|filename\*?)=(?:"([^"]*)"|([^;\s]*))', re.IGNORECASE)

BodyMaker = Callable[[ChannelSnapshot, str], bytes]  # (channel, upstream model) -> body
UsageReader = Callable[[Job, bytes], Usage]  # usage of a plain answer
StreamFallback = Callable[[Job, int], Usage]  # usage of a stream without reported usage


# ---- multipart forms ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    is_file: bool
    start: int  # the part's content is raw[start:end]
    end: int


@dataclass(frozen=True, slots=True)
class Form:
    """A ``multipart/form-data`` body as received: its parts located, never copied."""

    raw: bytes
    boundary: bytes
    parts: tuple[FormPart, ...]

    def text(self, name: str) -> str | None:
        for part in self.parts:
            if part.name == name and not part.is_file:
                return self.raw[part.start : part.end].decode("utf-8", "replace")
        return None

    def names(self) -> set[str]:
        return {part.name for part in self.parts}

    def fields(self) -> dict[str, str]:
        """The text fields (the first of each name): what the reservation estimates from."""
        found: dict[str, str] = {}
        for part in self.parts:
            if not part.is_file and part.name not in found:
                found[part.name] = self.raw[part.start : part.end].decode("utf-8", "replace")
        return found

    def with_text(self, name: str, value: str) -> bytes:
        """The body with field ``name`` set to ``value`` (replaced in place, or added first)."""
        encoded = value.encode()
        for part in self.parts:
            if part.name == name and not part.is_file:
                return self.raw[: part.start] + encoded + self.raw[part.end :]
        first = self.raw.find(b"--" + self.boundary)
        head = b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (
            self.boundary,
            name.encode(),
            encoded,
        )
        return self.raw[:first] + head + self.raw[first:]


def _boundary(content_type: str) -> bytes:
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise InvalidRelayRequest("the request body must be multipart/form-data with a boundary")
    return (match.group(1) or match.group(2)).encode("latin-1")


def _part(head: bytes, start: int, end: int) -> FormPart | None:
    params = {
        m.group(1).lower(): m.group(2) or m.group(3) or b"" for m in _DISPOSITION.finditer(head)
    }
    if b"name" not in params:
        return None
    is_file = any(key.startswith(b"filename") for key in params)
    return FormPart(params[b"name"].decode("utf-8", "replace"), is_file, start, end)


def read_form(content_type: str, raw: bytes) -> Form:
    """Locate the parts of a multipart body; a body that does not parse is the caller's 400."""
    boundary = _boundary(content_type)
    delimiter = b"--" + boundary
    parts: list[FormPart] = []
    at = raw.find(delimiter)
    while at >= 0:
        at += len(delimiter)
        if raw.startswith(b"--", at):
            return Form(raw, boundary, tuple(parts))
        head_end = raw.find(b"\r\n\r\n", at)
        end = raw.find(b"\r\n" + delimiter, head_end + 4) if head_end >= 0 else -1
        if end < 0:
            break
        part = _part(raw[at:head_end], head_end + 4, end)
        if part is not None:
            parts.append(part)
        at = end + 2
    raise InvalidRelayRequest("the multipart/form-data body is malformed")


# ---- usage -------------------------------------------------------------------------------------


def _load(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def reported_usage(usage: Any) -> Usage | None:
    """Token usage as OpenAI's audio and image endpoints report it; None when there is none.

    Transcriptions name the input split ``input_token_details`` (audio and text tokens).
    """
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_token_details")
    if isinstance(details, dict) and "input_tokens_details" not in usage:
        usage = {**usage, "input_tokens_details": details}
    parsed = from_openai(usage)
    return None if parsed.is_empty else parsed


def audio_minutes_tokens(seconds: float) -> int:
    """new-api's prompt tokens for audio priced by duration: 1000 a minute, whole seconds."""
    return math.ceil(math.ceil(seconds) * TOKENS_PER_AUDIO_MINUTE / 60)


def _seconds(body: dict[str, Any]) -> float | None:
    usage = body.get("usage")
    if isinstance(usage, dict) and usage.get("type") == "duration":
        seconds = usage.get("seconds")
    else:
        seconds = body.get("duration")  # verbose_json
    ok = isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0
    return float(seconds) if ok else None


def transcript_usage(job: Job, raw: bytes) -> Usage:
    """A transcription's or translation's usage: reported tokens, else seconds plus the text."""
    body = _load(raw)
    if not isinstance(body, dict):  # text, srt, vtt
        text = raw.decode("utf-8", "replace")
        return Usage(job.prompt_estimate, count_text(job.model, text), estimated=True)
    reported = reported_usage(body.get("usage"))
    if reported is not None:
        return reported
    text = body.get("text")
    completion = count_text(job.model, text) if isinstance(text, str) else 0
    seconds = _seconds(body)
    prompt = audio_minutes_tokens(seconds) if seconds is not None else job.prompt_estimate
    return Usage(prompt, completion, estimated=True)


def image_usage(job: Job, raw: bytes) -> Usage:
    body = _load(raw)
    reported = reported_usage(body.get("usage")) if isinstance(body, dict) else None
    return reported or Usage(job.prompt_estimate, 0, estimated=True)


def speech_usage(model: str, text: str) -> Usage:
    """new-api: ``tts-*`` models bill the input's characters, others its tokens; no output."""
    prompt = len(text) if model.startswith("tts") else count_text(model, text)
    return Usage(prompt_tokens=prompt)


# ---- one forwarded request ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forward:
    """A media request ready to relay: what goes upstream and how its answer is billed."""

    endpoint: str  # the OpenAI path below /v1
    model: str
    fields: dict[str, Any]  # what the reservation estimates from
    stream: bool
    content_type: str | None  # the caller's multipart type; None keeps the adaptor's JSON
    make_body: BodyMaker
    read_usage: UsageReader
    stream_usage: StreamFallback


# The events that end a transcription or speech stream.
MEDIA_STREAM_ENDS = frozenset({"transcript.text.done", "speech.audio.done"})


class _MediaEvents:
    """Media events (transcript or audio deltas) passed through as received, usage watched."""

    def __init__(self, job: Job, fallback: StreamFallback) -> None:
        self.job, self.fallback = job, fallback
        self.counter = StreamCounter(job.model)
        self.reported: Usage | None = None
        self.served = False
        self.finished = False

    def event(self, raw: bytes) -> list[bytes]:
        data = sse.event_data(raw)
        event = _load(data) if data and data != sse.DONE else None
        if data == sse.DONE:
            self.finished = True
        if isinstance(event, dict):
            if event.get("type") in MEDIA_STREAM_ENDS:
                self.finished = True
            self.reported = reported_usage(event.get("usage")) or self.reported
            delta = event.get("delta")
            if event.get("type") == "transcript.text.delta" and isinstance(delta, str):
                self.counter.feed_text(delta)
        self.served = True
        return [raw]

    def end(self) -> list[bytes]:
        return []

    def fail(self, message: str) -> list[bytes]:
        return [chat_stream_error(message)]

    def usage(self) -> Usage | None:
        if self.reported is not None:
            return self.reported
        return self.fallback(self.job, self.counter.total) if self.served else None


class _MediaTranslator:
    """The :class:`~newapi.relay.translate.Translator` of a forwarded media request."""

    def __init__(self, job: Job, forward: Forward) -> None:
        self.job, self.forward = job, forward

    def upstream_body(
        self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str
    ) -> bytes | None:
        if adaptor.wire_format != "openai":
            return None  # only OpenAI-format channels serve audio and images
        return self.body(channel, adaptor, upstream_model)

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        return self.forward.make_body(channel, upstream_model)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        return raw, self.forward.read_usage(self.job, raw)

    def stream(self) -> StreamTranslator:
        return _MediaEvents(self.job, self.forward.stream_usage)


async def _open(
    state: AppState, job: Job, forward: Forward, translator: _MediaTranslator
) -> Opened:
    return await open_for_job(
        state,
        job,
        forward.endpoint,
        translator.upstream_body,
        forward.content_type or "application/json",
    )


async def relay_forward(read: Callable[[], Awaitable[Forward]]) -> Response:
    """Authenticate, read the request with ``read``, relay it and bill the answer."""
    state = app_state()
    options = state.options.current
    caller = await authenticate(state.entities, options)  # header-only checks first (see relay)
    admission = await admit(state.cache, options, caller)  # 429 past the model request limit
    after_this_request(admission.finish)
    open_body()
    forward = await read()
    job = await start_job(
        state, caller, request.path, forward.fields, forward.model, forward.stream
    )
    translator = _MediaTranslator(job, forward)
    opened = await _open(state, job, forward, translator)
    content_type = opened.response.headers.get("Content-Type", "")
    if forward.stream and "text/event-stream" in content_type:
        response = Response(
            relay_stream(state, job, opened, translator.stream()), headers=STREAM_HEADERS
        )
        response.timeout = None
    else:
        response = await finish_plain(state, job, opened, translator)
    response.headers["X-Oneapi-Request-Id"] = job.request_id
    return response


# ---- the endpoints -----------------------------------------------------------------------------


def _json_body(body: dict[str, Any]) -> BodyMaker:
    def make(channel: ChannelSnapshot, upstream_model: str) -> bytes:
        return orjson.dumps({**body, "model": upstream_model, **channel.param_override})

    return make


def _form_body(form: Form) -> BodyMaker:
    def make(channel: ChannelSnapshot, upstream_model: str) -> bytes:
        if form.text("model") == upstream_model:
            return form.raw
        return form.with_text("model", upstream_model)

    return make


async def _read_speech() -> Forward:
    body = await read_json()
    model = body.get("model") or SPEECH_MODEL
    text = body.get("input")
    if not isinstance(model, str):
        raise InvalidRelayRequest("model must be a string")
    if not isinstance(text, str) or not text:
        raise InvalidRelayRequest("input is required")
    usage = speech_usage(model, text)
    return Forward(
        endpoint="audio/speech",
        model=model,
        fields=body,
        stream=body.get("stream_format") == "sse",
        content_type=None,
        make_body=_json_body(body),
        read_usage=lambda job, raw: usage,
        stream_usage=lambda job, counted: usage,
    )


async def _read_form() -> Form:
    raw = await request.get_data(cache=False)
    return read_form(request.headers.get("Content-Type", ""), raw)


def _form_forward(endpoint: str, form: Form, model: str, usage: UsageReader) -> Forward:
    return Forward(
        endpoint=endpoint,
        model=model,
        fields=form.fields(),
        stream=form.text("stream") == "true",
        content_type=request.headers.get("Content-Type", ""),
        make_body=_form_body(form),
        read_usage=usage,
        stream_usage=lambda job, counted: Usage(job.prompt_estimate, counted, estimated=True),
    )


def _audio_reader(endpoint: str) -> Callable[[], Awaitable[Forward]]:
    async def read() -> Forward:
        form = await _read_form()
        model = form.text("model") or AUDIO_MODEL
        return _form_forward(endpoint, form, model, transcript_usage)

    return read


async def _read_image_edit() -> Forward:
    form = await _read_form()
    default = "gpt-image-1" if form.names() & GPT_IMAGE_FIELDS else "dall-e-2"
    model = form.text("model") or default
    return _form_forward("images/edits", form, model, image_usage)


@bp.post("/v1/audio/speech")
@body_after_checks
async def audio_speech() -> Response:
    return await relay_forward(_read_speech)


@bp.post("/v1/audio/transcriptions")
@body_after_checks
async def audio_transcriptions() -> Response:
    return await relay_forward(_audio_reader("audio/transcriptions"))


@bp.post("/v1/audio/translations")
@body_after_checks
async def audio_translations() -> Response:
    return await relay_forward(_audio_reader("audio/translations"))


@bp.post("/v1/images/edits")
@body_after_checks
async def image_edits() -> Response:
    if request.mimetype == "application/json":
        return await relay("images/edits")  # gpt-image-1 also takes JSON with image URLs
    return await relay_forward(_read_image_edit)
