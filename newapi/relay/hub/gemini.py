"""Gemini: as a wire (Gemini, Vertex AI), as a caller, and Gemini to Gemini untouched."""

from __future__ import annotations

from typing import Any

import orjson

from newapi.adaptors.base import Adaptor
from newapi.protocol import sse
from newapi.protocol.convert import (
    ChatStreamToGemini,
    GeminiStreamToChat,
    StreamError,
    chat_request_to_gemini,
    chat_response_to_gemini,
    gemini_response_to_chat,
    generate_request_to_chat,
)
from newapi.protocol.gemini import thinking_suffix
from newapi.protocol.usage import Usage, from_gemini
from newapi.relay.hub.sides import JSON, ConvertedSource, HubSink, HubSource
from newapi.relay.job import Job
from newapi.relay.translate import (
    StreamTranslator,
    finish_body,
    load_json,
)
from newapi.routing.index import ChannelSnapshot


class GeminiWire:
    def __init__(self, safety_threshold: str) -> None:
        self.safety_threshold = safety_threshold

    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        call = chat_request_to_gemini(
            hub, upstream_model=upstream_model, safety_threshold=self.safety_threshold
        )
        return call.body

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        chat = gemini_response_to_chat(body, model=str(body.get("modelVersion") or ""))
        return chat, from_gemini(body.get("usageMetadata"))

    def source(self, job: Job) -> HubSource:
        return ConvertedSource(GeminiStreamToChat(model=job.model, include_usage=True))


class GeminiCaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        return generate_request_to_chat(
            job.body, upstream_model=upstream_model, stream=job.stream, include_usage=True
        )

    def answer(self, job: Job, chat: JSON) -> JSON:
        return chat_response_to_gemini(chat, model=job.model)

    def sink(self, job: Job) -> HubSink:
        return GeminiSink(job)


class GeminiSink:
    def __init__(self, job: Job) -> None:
        self.converter = ChatStreamToGemini(model=job.model)

    def feed(self, chunk: JSON) -> list[bytes]:
        return [sse.encode(orjson.dumps(out)) for out in self.converter.feed(chunk)]

    def end(self, usage: Usage) -> list[bytes]:
        return [sse.encode(orjson.dumps(out)) for out in self.converter.finish(usage)]

    def fail(self, message: str) -> list[bytes]:
        return [gemini_stream_error(message)]


def gemini_stream_error(message: str) -> bytes:
    """A broken stream told in Google's error shape (what the Gemini API sends mid-stream)."""
    error = {"code": 502, "message": message, "status": "UNAVAILABLE"}
    return sse.encode(orjson.dumps({"error": error}))


class GeminiToGemini:
    """A Gemini caller on a Gemini channel: the body goes through (a thinking suffix of the
    model name becomes ``thinkingConfig``); events pass as received, usage watched."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        body = dict(self.job.body)
        _, thinking = thinking_suffix(upstream_model)
        if thinking is not None:
            config = body.get("generationConfig")
            config = dict(config) if isinstance(config, dict) else {}
            config["thinkingConfig"] = thinking
            body["generationConfig"] = config
        return finish_body(body, channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        usage = from_gemini(body.get("usageMetadata")) if isinstance(body, dict) else Usage()
        if usage.is_empty:
            usage = Usage(self.job.counted_prompt(), 0, estimated=True)
        return raw, usage

    def stream(self) -> StreamTranslator:
        return _PassGemini(self.job)


class _PassGemini:
    """Events pass as received; only what billing and the end of the stream need is read
    (usageMetadata, finishReason, an error), nothing is converted."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.metadata: Any = None  # the latest usageMetadata (each chunk repeats the totals)
        self.finished = False
        self.served = False

    def event(self, raw: bytes) -> list[bytes]:
        data = sse.event_data(raw)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        error = parsed.get("error")
        if isinstance(error, dict):
            raise StreamError(str(error.get("status") or "UNKNOWN"), str(error.get("message")))
        if isinstance(parsed.get("usageMetadata"), dict):
            self.metadata = parsed["usageMetadata"]
        candidates = parsed.get("candidates")
        if isinstance(candidates, list) and any(
            isinstance(c, dict) and c.get("finishReason") for c in candidates
        ):
            self.finished = True
        self.served = True
        return [raw]

    def end(self) -> list[bytes]:
        return []

    def fail(self, message: str) -> list[bytes]:
        return [gemini_stream_error(message)]

    def usage(self) -> Usage | None:
        usage = from_gemini(self.metadata)
        if usage.is_empty:
            return Usage(self.job.counted_prompt(), 0, estimated=True) if self.served else None
        return usage
