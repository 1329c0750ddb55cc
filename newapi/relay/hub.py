"""Translation through the hub: caller format -> OpenAI chat (the hub) -> wire format, and back.

Every format is one *side*: a :class:`WireSide` turns a hub request into its upstream body and
its answers (plain or streamed) back into hub answers and hub chunks; a :class:`CallerSide`
turns a caller's request into a hub request and hub answers into the caller's format. Any
caller/wire pair is then one :class:`Hubbed` translator: a new format is one pair of sides,
not one converter per partner. Same format in and out never comes here (a passthrough).

Usage is always read on the wire side, in the upstream's own terms (Claude's cache writes,
Gemini's thought tokens), never re-derived from the hub's copy.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from newapi.adaptors.base import Adaptor
from newapi.protocol import sse
from newapi.protocol.convert import (
    ChatStreamToClaude,
    ChatStreamToGemini,
    ClaudeStreamToChat,
    GeminiStreamToChat,
    StreamError,
    chat_request_to_claude,
    chat_request_to_gemini,
    chat_response_to_gemini,
    chat_response_to_message,
    claude_response_to_chat,
    gemini_response_to_chat,
    generate_request_to_chat,
    messages_request_to_chat,
)
from newapi.protocol.gemini import thinking_suffix
from newapi.protocol.usage import Usage, from_claude, from_gemini, from_openai
from newapi.relay.job import Job
from newapi.relay.stream import OpenAIStreamTracker
from newapi.relay.translate import (
    DEFAULT_MAX_TOKENS,
    DONE_EVENT,
    CallerFormat,
    StreamTranslator,
    Translator,
    chat_stream_error,
    claude_stream_error,
    completion_text_estimate,
    finish_body,
    load_json,
    passthrough,
)
from newapi.routing.index import ChannelSnapshot

JSON = dict[str, Any]


# ---- the sides -------------------------------------------------------------------------------


class HubSource(Protocol):
    """An upstream stream read as hub chunks."""

    finished: bool

    def feed(self, event: bytes) -> list[JSON]: ...

    def finish(self) -> list[JSON]: ...

    def usage(self) -> Usage | None: ...


class HubSink(Protocol):
    """Hub chunks written in the caller's stream format."""

    def feed(self, chunk: JSON) -> list[bytes]: ...

    def end(self, usage: Usage) -> list[bytes]: ...

    def fail(self, message: str) -> list[bytes]: ...


class WireSide(Protocol):
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON: ...

    def answer(self, body: JSON) -> tuple[JSON, Usage]: ...

    def source(self, job: Job) -> HubSource: ...


class CallerSide(Protocol):
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON: ...

    def answer(self, job: Job, chat: JSON) -> JSON: ...

    def sink(self, job: Job) -> HubSink: ...


# ---- wire sides ------------------------------------------------------------------------------


# Hub extensions a strict OpenAI upstream refuses ("Unrecognized request argument").
_HUB_ONLY = ("top_k", "extra_body", "google")
_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


class OpenAIWire:
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        body = {k: v for k, v in hub.items() if k not in _HUB_ONLY}
        body["model"] = upstream_model
        if body.get("stream") and not force_usage:
            body.pop("stream_options", None)
        if not upstream_model.startswith(_REASONING_MODELS):
            body.pop("reasoning_effort", None)  # approximated from a thinking config
        elif "max_tokens" in body:  # reasoning models refuse max_tokens (OpenAI's 400)
            body["max_completion_tokens"] = body.pop("max_tokens")
        messages = body.get("messages")
        if isinstance(messages, list):
            body["messages"] = [_openai_message(m) for m in messages]
        return body

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        return body, from_openai(body.get("usage"))

    def source(self, job: Job) -> HubSource:
        return _OpenAISource(job)


def _openai_message(message: Any) -> Any:
    """A hub message without the hub's extensions (thought signatures, tool-result names)."""
    if not isinstance(message, dict):
        return message
    if message.get("role") == "tool" and "name" in message:
        message = {k: v for k, v in message.items() if k != "name"}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and any(isinstance(c, dict) and "extra_content" in c for c in calls):
        stripped = [
            {k: v for k, v in c.items() if k != "extra_content"} if isinstance(c, dict) else c
            for c in calls
        ]
        message = {**message, "tool_calls": stripped}
    return message


class _OpenAISource:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.tracker = OpenAIStreamTracker(include_usage=True, model=job.model)
        self.served = False

    @property
    def finished(self) -> bool:
        return self.tracker.finished

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        if data == sse.DONE:
            self.tracker.finished = True
            return []
        if data is None:
            return []
        self.tracker.observe(data)  # counts streamed text in case upstream reports no usage
        chunk = load_json(data)
        if not isinstance(chunk, dict):
            return []
        error = chunk.get("error")
        if isinstance(error, dict) and not chunk.get("choices"):  # an in-stream error event
            raise StreamError(str(error.get("type") or "upstream_error"), str(error.get("message")))
        self.served = True
        return [chunk]

    def finish(self) -> list[JSON]:
        return []

    def usage(self) -> Usage | None:
        if self.tracker.usage is not None or not self.served:
            return self.tracker.usage
        return self.tracker.final_usage(self.job.counted_prompt())  # counted locally


def thinking_budget(hub: JSON) -> int | None:
    """The exact thinking budget a Gemini or Claude caller asked for, carried in the hub as
    Google's ``extra_body.google.thinking_config`` (``reasoning_effort`` only approximates it)."""
    extra = hub.get("extra_body")
    google = extra.get("google") if isinstance(extra, dict) else None
    config = google.get("thinking_config") if isinstance(google, dict) else None
    if not isinstance(config, dict):
        return None
    budget = config.get("thinking_budget", config.get("thinkingBudget"))
    return budget if isinstance(budget, int) and not isinstance(budget, bool) else None


class ClaudeWire:
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        thinking = upstream_model.endswith("-thinking")
        budget = thinking_budget(hub)
        if budget is not None and budget > 0 and "reasoning" not in hub:
            hub = {**hub, "reasoning": {"max_tokens": budget}}  # the Claude converter's exact form
        elif budget == 0:
            hub = {k: v for k, v in hub.items() if k != "reasoning_effort"}  # thinking off
        return chat_request_to_claude(
            hub,
            upstream_model=upstream_model.removesuffix("-thinking"),
            default_max_tokens=DEFAULT_MAX_TOKENS,
            thinking=thinking,
        )

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        return claude_response_to_chat(body, model=str(body.get("model") or "")), from_claude(
            body.get("usage")
        )

    def source(self, job: Job) -> HubSource:
        return _ClaudeSource(job)


class _ClaudeSource:
    def __init__(self, job: Job) -> None:
        self.converter = ClaudeStreamToChat(model=job.model, include_usage=True)
        self.finished = False

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        if parsed.get("type") == "message_stop":
            self.finished = True
        return list(self.converter.feed(parsed))

    def finish(self) -> list[JSON]:
        return list(self.converter.finish())

    def usage(self) -> Usage | None:
        usage = self.converter.usage
        return None if usage.is_empty else usage


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
        return _GeminiSource(job)


class _GeminiSource:
    def __init__(self, job: Job) -> None:
        self.converter = GeminiStreamToChat(model=job.model, include_usage=True)

    @property
    def finished(self) -> bool:
        return self.converter.finished

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        return list(self.converter.feed(parsed))  # an error chunk raises StreamError

    def finish(self) -> list[JSON]:
        return list(self.converter.finish())

    def usage(self) -> Usage | None:
        usage = self.converter.usage
        return None if usage.is_empty else usage


# ---- caller sides ----------------------------------------------------------------------------


class OpenAICaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        hub = dict(job.body)
        if job.stream:
            hub["stream_options"] = {"include_usage": True}
        return hub

    def answer(self, job: Job, chat: JSON) -> JSON:
        return {**chat, "model": job.model}

    def sink(self, job: Job) -> HubSink:
        return _OpenAISink(job)


class _OpenAISink:
    def __init__(self, job: Job) -> None:
        self.job = job

    def feed(self, chunk: JSON) -> list[bytes]:
        if not chunk.get("choices") and "usage" in chunk and not self.job.include_usage:
            return []
        return [sse.encode(orjson.dumps({**chunk, "model": self.job.model}))]

    def end(self, usage: Usage) -> list[bytes]:
        return [DONE_EVENT]

    def fail(self, message: str) -> list[bytes]:
        return [chat_stream_error(message)]


class ClaudeCaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        hub = messages_request_to_chat(
            job.body, upstream_model=upstream_model, include_usage=include_usage
        )
        thinking = job.body.get("thinking")
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if isinstance(budget, int) and budget > 0 and thinking.get("type") == "enabled":
            config = {"thinking_budget": budget, "include_thoughts": True}
            hub["extra_body"] = {"google": {"thinking_config": config}}
        return hub

    def answer(self, job: Job, chat: JSON) -> JSON:
        return dict(chat_response_to_message(chat, model=job.model))

    def sink(self, job: Job) -> HubSink:
        return _ClaudeSink(job)


class _ClaudeSink:
    def __init__(self, job: Job) -> None:
        self.converter = ChatStreamToClaude(model=job.model, prompt_estimate=job.prompt_estimate)

    def feed(self, chunk: JSON) -> list[bytes]:
        return [sse.encode(orjson.dumps(body), name) for name, body in self.converter.feed(chunk)]

    def end(self, usage: Usage) -> list[bytes]:
        events = self.converter.finish(estimate=usage)
        return [sse.encode(orjson.dumps(body), name) for name, body in events]

    def fail(self, message: str) -> list[bytes]:
        return [claude_stream_error(message)]


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


# ---- the composed translator -----------------------------------------------------------------


class Hubbed:
    """A :class:`~newapi.relay.translate.Translator` for one caller/wire pair via the hub."""

    def __init__(self, job: Job, caller: CallerSide, wire: WireSide, force_usage: bool) -> None:
        self.job, self.caller, self.wire, self.force_usage = job, caller, wire, force_usage

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        include = self.force_usage and adaptor.stream_usage
        hub = self.caller.to_hub(self.job, upstream_model, include)
        return finish_body(self.wire.request(hub, upstream_model, include), channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        if not isinstance(body, dict):
            return raw, Usage(self.job.counted_prompt(), 0, estimated=True)
        chat, usage = self.wire.answer(body)
        if usage.is_empty:
            completion = completion_text_estimate(chat)
            usage = Usage(self.job.counted_prompt(), completion, estimated=True)
        return orjson.dumps(self.caller.answer(self.job, chat)), usage

    def stream(self) -> StreamTranslator:
        return _HubStream(self.job, self.wire.source(self.job), self.caller.sink(self.job))


class _HubStream:
    def __init__(self, job: Job, source: HubSource, sink: HubSink) -> None:
        self.job, self.source, self.sink = job, source, sink
        self.served = False

    @property
    def finished(self) -> bool:
        return self.source.finished

    def event(self, raw: bytes) -> list[bytes]:
        out = [piece for chunk in self.source.feed(raw) for piece in self.sink.feed(chunk)]
        self.served = self.served or bool(out)
        return out

    def end(self) -> list[bytes]:
        tail = [piece for chunk in self.source.finish() for piece in self.sink.feed(chunk)]
        usage = self.usage() or Usage(self.job.counted_prompt(), 0, estimated=True)
        return tail + self.sink.end(usage)

    def fail(self, message: str) -> list[bytes]:
        return self.sink.fail(message)

    def usage(self) -> Usage | None:
        usage = self.source.usage()
        if usage is not None:
            return usage
        return Usage(self.job.counted_prompt(), 0, estimated=True) if self.served else None


# ---- Gemini to Gemini: the passthrough -------------------------------------------------------


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
    def __init__(self, job: Job) -> None:
        self.job = job
        self.watch = GeminiStreamToChat(model=job.model, include_usage=False)
        self.served = False

    @property
    def finished(self) -> bool:
        return self.watch.finished

    def event(self, raw: bytes) -> list[bytes]:
        data = sse.event_data(raw)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        self.watch.feed(parsed)  # usage and finish reason; an error chunk raises StreamError
        self.served = True
        return [raw]

    def end(self) -> list[bytes]:
        return []

    def fail(self, message: str) -> list[bytes]:
        return [gemini_stream_error(message)]

    def usage(self) -> Usage | None:
        usage = self.watch.usage
        if usage.is_empty:
            return Usage(self.job.counted_prompt(), 0, estimated=True) if self.served else None
        return usage


# ---- which translator ------------------------------------------------------------------------

_CALLERS: dict[str, CallerSide] = {
    "openai": OpenAICaller(),
    "claude": ClaudeCaller(),
    "gemini": GeminiCaller(),
}


def _wire_side(wire: str, safety_threshold: str) -> WireSide:
    if wire == "claude":
        return ClaudeWire()
    if wire == "gemini":
        return GeminiWire(safety_threshold)
    return OpenAIWire()


def chat_translator(
    job: Job, caller: CallerFormat, wire: str, force_usage: bool, safety_threshold: str = "OFF"
) -> Translator:
    """The translator for a chat-like call: a passthrough when caller and wire agree, else
    through the hub."""
    if caller == wire:
        return GeminiToGemini(job) if caller == "gemini" else passthrough(job, caller, force_usage)
    return Hubbed(job, _CALLERS[caller], _wire_side(wire, safety_threshold), force_usage)
