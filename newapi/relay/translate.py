"""Between the caller's format and the channel's wire format: the translator seam.

A :class:`Translator` builds the upstream body and turns answers back into the caller's format.
Here are the passthroughs (OpenAI->OpenAI, Claude->Claude: bytes go through untouched, only
usage is watched) and what every translator shares (stream error events, body finishing);
every converting pair goes through the hub (:mod:`newapi.relay.hub`). A stream translator holds
only per-block state.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import orjson

from newapi.adaptors.base import Adaptor
from newapi.protocol import sse
from newapi.protocol.convert import (
    StreamError,
)
from newapi.protocol.tokens import estimate_text
from newapi.protocol.usage import Usage, from_claude, from_openai
from newapi.relay.job import Job
from newapi.relay.stream import OpenAIStreamTracker
from newapi.routing.index import ChannelSnapshot

CallerFormat = Literal["openai", "claude", "gemini", "responses"]
DONE_EVENT = b"data: [DONE]\n\n"
DEFAULT_MAX_TOKENS = 8192
EFFORT_SUFFIXES = ("-minimal", "-low", "-medium", "-high")


class StreamTranslator(Protocol):
    """One stream's translation. ``finished`` turns true once upstream's own end was seen;
    ``end`` closes a finished stream, ``fail`` tells the caller in its format that the stream
    was cut short (no ``[DONE]``, no ``message_stop``: an incomplete answer never looks whole)."""

    @property
    def finished(self) -> bool: ...

    def event(self, raw: bytes) -> list[bytes]: ...

    def end(self) -> list[bytes]: ...

    def fail(self, message: str) -> list[bytes]: ...

    def usage(self) -> Usage | None: ...


class Translator(Protocol):
    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes: ...

    def plain(self, raw: bytes) -> tuple[bytes, Usage]: ...

    def stream(self) -> StreamTranslator: ...


def passthrough(job: Job, caller: CallerFormat, force_usage: bool) -> Translator:
    """Caller and channel speak the same format (OpenAI or Claude): bytes go through."""
    return ClaudeToClaude(job) if caller == "claude" else OpenAIToOpenAI(job, force_usage)


def load_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def finish_body(body: dict[str, Any], channel: ChannelSnapshot, adaptor: Adaptor) -> bytes:
    """The upstream body: the channel's ``param_override``, then the fields the upstream
    itself requires (a None value removes the field: Claude on Vertex AI takes no ``model``)."""
    body.update(channel.param_override)
    return orjson.dumps(with_body_fields(body, adaptor))


def with_body_fields(body: dict[str, Any], adaptor: Adaptor) -> dict[str, Any]:
    """``body`` with the fields its upstream requires (a None value removes the field)."""
    for name, value in adaptor.body_fields.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def _effort_suffix(model: str) -> tuple[str, str | None]:
    """``o3-mini-high`` -> (``o3-mini``, ``high``) for reasoning models (new-api's suffixes)."""
    for suffix in EFFORT_SUFFIXES:
        base = model.removesuffix(suffix)
        if base != model and (base.startswith(("o1", "o3", "o4", "gpt-5"))):
            return base, suffix[1:]
    return model, None


STREAM_INTERRUPTED = "stream_interrupted"


def chat_stream_error(message: str) -> bytes:
    """A mid-stream error as OpenAI sends it in a chat stream (the SDKs raise on it)."""
    error = {"message": message, "type": "upstream_error", "param": None}
    return sse.encode(orjson.dumps({"error": {**error, "code": STREAM_INTERRUPTED}}))


def responses_stream_error(message: str, sequence_number: int) -> bytes:
    """The Responses API's ``error`` event."""
    event = {
        "type": "error",
        "code": STREAM_INTERRUPTED,
        "message": message,
        "param": None,
        "sequence_number": sequence_number,
    }
    return sse.encode(orjson.dumps(event), "error")


def claude_stream_error(message: str) -> bytes:
    """Anthropic's in-stream ``error`` event."""
    event = {"type": "error", "error": {"type": "api_error", "message": message}}
    return sse.encode(orjson.dumps(event), "error")


def _estimate(job: Job, completion: int) -> Usage:
    return Usage(job.counted_prompt(), completion, estimated=True)


# ---- OpenAI caller -----------------------------------------------------------------------------


class OpenAIToOpenAI:
    def __init__(self, job: Job, force_usage: bool) -> None:
        self.job = job
        self.force_usage = force_usage

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        body = dict(self.job.body)
        model, effort = _effort_suffix(upstream_model)
        body["model"] = model
        if effort and self.job.path.endswith("/responses"):
            reasoning = body.get("reasoning")
            body["reasoning"] = {
                **(reasoning if isinstance(reasoning, dict) else {}),
                "effort": effort,
            }
        elif effort:
            body["reasoning_effort"] = effort
        if self.job.stream:
            if self.force_usage and adaptor.stream_usage:
                options = body.get("stream_options")
                options = options if isinstance(options, dict) else {}
                body["stream_options"] = {**options, "include_usage": True}
            elif not adaptor.stream_usage:
                body.pop("stream_options", None)
        return finish_body(body, channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        usage = from_openai(body.get("usage")) if isinstance(body, dict) else Usage()
        if usage.is_empty:
            usage = _estimate(self.job, completion_text_estimate(body))
        return raw, usage

    def stream(self) -> StreamTranslator:
        return _PassOpenAI(self.job)


def completion_text_estimate(body: Any) -> int:
    total = 0
    for choice in (body or {}).get("choices") or () if isinstance(body, dict) else ():
        message = choice.get("message") if isinstance(choice, dict) else None
        text = message.get("content") if isinstance(message, dict) else choice.get("text")
        if isinstance(text, str):
            total += estimate_text(text)
    return total


class _PassOpenAI:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.tracker = OpenAIStreamTracker(include_usage=job.include_usage, model=job.model)
        self.served = False
        # Responses API streams end with their terminal event: no [DONE], no usage chunk.
        self.responses = job.path.endswith("/responses")

    @property
    def finished(self) -> bool:
        return self.tracker.finished

    def event(self, raw: bytes) -> list[bytes]:
        data = sse.event_data(raw)
        if data == sse.DONE:
            self.tracker.finished = True
            return []
        if data is None or not self.tracker.observe(data):
            return []
        self.served = True
        return [raw]

    def end(self) -> list[bytes]:
        if self.responses:
            return []
        tail = []
        if self.job.include_usage and self.tracker.usage is None:
            tail.append(
                self.tracker.usage_chunk(self.tracker.final_usage(self.job.counted_prompt()))
            )
        return [*tail, DONE_EVENT]

    def fail(self, message: str) -> list[bytes]:
        if self.responses:
            return [responses_stream_error(message, self.tracker.sequence_number + 1)]
        return [chat_stream_error(message)]

    def usage(self) -> Usage | None:
        if self.tracker.usage is not None:
            return self.tracker.usage
        if not self.served:
            return None
        return self.tracker.final_usage(self.job.counted_prompt())


# ---- Claude caller (/v1/messages) -------------------------------------------------------------


class ClaudeToClaude:
    def __init__(self, job: Job) -> None:
        self.job = job

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        body = dict(self.job.body)
        body["model"] = upstream_model
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        return finish_body(body, channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        message = load_json(raw)
        usage = from_claude(message.get("usage")) if isinstance(message, dict) else Usage()
        return raw, usage if not usage.is_empty else _estimate(self.job, 0)

    def stream(self) -> StreamTranslator:
        return _PassClaude(self.job)


class _PassClaude:
    """Claude events pass through as received; usage from message_start and message_delta."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.fields: dict[str, Any] = {}
        self.served = False
        self.finished = False

    def event(self, raw: bytes) -> list[bytes]:
        data = sse.event_data(raw)
        if data is None:
            return [raw]
        if b'"usage"' in data or b'"error"' in data:
            self._watch(load_json(data))
        elif b'"message_stop"' in data:
            self.finished = True
        self.served = True
        return [raw]

    def _watch(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if event.get("type") == "error":
            error = event.get("error") or {}
            raise StreamError(str(error.get("type", "api_error")), str(error.get("message", "")))
        usage = (
            (event.get("message") or {}).get("usage")
            if event.get("type") == "message_start"
            else event.get("usage")
        )
        if isinstance(usage, dict):
            # message_delta repeats running totals: the latest non-zero value of a field wins.
            self.fields.update({k: v for k, v in usage.items() if v})

    def end(self) -> list[bytes]:
        return []

    def fail(self, message: str) -> list[bytes]:
        return [claude_stream_error(message)]

    def usage(self) -> Usage | None:
        usage = from_claude(self.fields)
        if usage.is_empty:
            return _estimate(self.job, 0) if self.served else None
        return usage


class ThinkingToContent:
    """The channel setting ``thinking_to_content``: reasoning deltas become visible content.

    The first reasoning text opens ``<think>\\n``, the first real content after it is preceded
    by ``\\n</think>\\n``, and ``reasoning_content`` / ``reasoning`` are removed (new-api's rule).
    Only OpenAI-format streams to OpenAI callers are rewritten; chunks are re-serialised.
    """

    def __init__(self, inner: StreamTranslator) -> None:
        self.inner = inner
        self.thinking = False

    def event(self, raw: bytes) -> list[bytes]:
        return [self._rewrite(out) for out in self.inner.event(raw)]

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def end(self) -> list[bytes]:
        return self.inner.end()

    def fail(self, message: str) -> list[bytes]:
        return self.inner.fail(message)

    def usage(self) -> Usage | None:
        return self.inner.usage()

    def _rewrite(self, event: bytes) -> bytes:
        data = sse.event_data(event)
        chunk = load_json(data) if data and data != sse.DONE else None
        if not isinstance(chunk, dict) or not chunk.get("choices"):
            return event
        changed = False
        for choice in chunk["choices"]:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and self._rewrite_delta(delta):
                changed = True
        return sse.encode(orjson.dumps(chunk)) if changed else event

    def _rewrite_delta(self, delta: dict[str, Any]) -> bool:
        reasoning = delta.pop("reasoning_content", None) or delta.pop("reasoning", None)
        content = delta.get("content")
        text = ""
        if isinstance(reasoning, str) and reasoning:
            text = ("" if self.thinking else "<think>\n") + reasoning
            self.thinking = True
        if isinstance(content, str) and content and self.thinking and not reasoning:
            text = "\n</think>\n" + content
            self.thinking = False
        elif isinstance(content, str):
            text += content
        if text or reasoning is not None:
            delta["content"] = text
            return True
        return False


def stream_for(
    translator: Translator, channel: ChannelSnapshot, caller: CallerFormat
) -> StreamTranslator:
    stream = translator.stream()
    if caller == "openai" and channel.setting.get("thinking_to_content") is True:
        return ThinkingToContent(stream)
    return stream
