"""Relaying an OpenAI-format SSE stream: each upstream event leaves at once, as received.

Nothing is buffered beyond the event being read, and the text is never kept: the tracker
only counts (an estimate, used when upstream sends no usage) and remembers the last chunk's
identity for a synthesized usage chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from newapi.protocol import sse
from newapi.protocol.tokens import StreamCounter
from newapi.protocol.usage import Usage, from_openai, to_openai

# Responses API events whose ``delta`` is generated text (audio deltas are base64, not text).
RESPONSES_TEXT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
    }
)
# Responses API events that end a response: a stream without one of them was cut short.
RESPONSES_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


class OpenAIStreamTracker:
    """Watches chunks go by: usage, a completion estimate, what to suppress."""

    def __init__(self, *, include_usage: bool, model: str = "") -> None:
        self.include_usage = include_usage
        self.usage: Usage | None = None
        # Counts what streams by (tiktoken for OpenAI models), for when upstream sends no usage.
        self.counter = StreamCounter(model)
        # Upstream's own end was seen: a finish_reason, a terminal Responses event or [DONE].
        self.finished = False
        self.sequence_number = -1  # the last Responses event's, for an error event after it
        self._identity: dict[str, Any] = {}

    def observe(self, data: bytes) -> bool:
        """Record one chunk's facts; False when the caller must not get it."""
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return True
        if not isinstance(chunk, dict):
            return True
        self._identity = {k: chunk[k] for k in ("id", "created", "model") if k in chunk}
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            parsed = from_openai(usage)
            if not parsed.is_empty:
                self.usage = parsed
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                self._count(choice)
        if isinstance(chunk.get("type"), str):
            self._observe_response_event(chunk)
        # Usage we asked for on the caller's behalf is not the caller's to see.
        return self.include_usage or bool(choices) or not isinstance(usage, dict)

    def _count(self, choice: Any) -> None:
        if not isinstance(choice, dict):
            return
        if choice.get("finish_reason"):
            self.finished = True
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        for field in ("content", "reasoning_content", "reasoning"):
            text = delta.get(field)
            if isinstance(text, str) and text:
                self.counter.feed_text(text)
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                function = call.get("function") or {}
                if call.get("id"):
                    self.counter.feed_tool_call()
                for part in ("name", "arguments"):
                    text = function.get(part) if isinstance(function, dict) else None
                    if isinstance(text, str) and text:
                        self.counter.feed_text(text)

    def _observe_response_event(self, event: dict[str, Any]) -> None:
        """A Responses API event: the usage of ``response.completed`` (``.incomplete``,
        ``.failed``), the text of the deltas, the per-call tokens of a function call."""
        response = event.get("response")
        usage = response.get("usage") if isinstance(response, dict) else None
        if isinstance(usage, dict):
            parsed = from_openai(usage)
            if not parsed.is_empty:
                self.usage = parsed
        kind, delta = event["type"], event.get("delta")
        if kind in RESPONSES_TERMINAL:
            self.finished = True
        sequence = event.get("sequence_number")
        if isinstance(sequence, int):
            self.sequence_number = sequence
        if kind in RESPONSES_TEXT_DELTAS and isinstance(delta, str) and delta:
            self.counter.feed_text(delta)
        item = event.get("item") if kind == "response.output_item.added" else None
        if isinstance(item, dict) and item.get("type") == "function_call":
            self.counter.feed_tool_call()

    def final_usage(self, prompt_estimate: int) -> Usage:
        if self.usage is not None:
            return self.usage
        return Usage(prompt_estimate, self.counter.total, estimated=True)

    def usage_chunk(self, usage: Usage) -> bytes:
        chunk = {
            "id": self._identity.get("id", ""),
            "object": "chat.completion.chunk",
            "created": self._identity.get("created", int(time.time())),
            "model": self._identity.get("model", ""),
            "choices": [],
            "usage": to_openai(usage),
        }
        return sse.encode(orjson.dumps(chunk))


async def events(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Whole SSE events from an upstream response, as their bytes arrive.

    The idle timeout (``STREAMING_TIMEOUT``) is the request's ``sock_read`` timeout, kept by
    aiohttp's protocol with one timer per connection (re-arming a timeout per chunk here cost
    ~3% of a stream's CPU); it raises :class:`aiohttp.ServerTimeoutError`, a TimeoutError.
    """
    splitter = sse.EventSplitter()
    async for piece in response.content.iter_any():
        for event in splitter.feed(piece):
            yield event
    rest = splitter.rest()
    if rest.strip():
        yield rest + b"\n\n"
