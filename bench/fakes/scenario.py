"""What a fake provider answers: a plain, mutable dataclass a test edits between requests.

One :class:`Scenario` drives every wire format. Usage fields are the numbers *as the
provider reports them on the wire*: OpenAI ``prompt_tokens`` include ``cached_tokens``;
Anthropic ``input_tokens`` (= ``prompt_tokens`` here) exclude cache reads and writes, which are
reported beside it; Gemini's ``promptTokenCount`` (= ``prompt_tokens``) includes
``cachedContentTokenCount`` (= ``cached_tokens``) while ``candidatesTokenCount``
(= ``completion_tokens``) excludes ``thoughtsTokenCount`` (= ``reasoning_tokens``). Nothing is
converted, so a gateway test controls exactly what upstream says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

StreamUsage = Literal["requested", "never", "always"]

# The magic-key convention: a key containing "fail-<status>" always gets that error.
_FAIL_KEY = re.compile(r"fail-(\d{3})(?!\d)")

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-sonnet-4-20250514")
DEFAULT_GEMINI_MODELS = (
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-embedding-001",
    "text-embedding-004",
)


@dataclass
class ToolCall:
    """A function call the model "makes"; ``arguments`` is streamed in ``pieces`` parts.

    ``custom=True`` makes it a Responses API custom tool call (``custom_tool_call``) whose raw
    ``input`` is ``arguments`` (a string); the other wire formats have no custom tools.
    """

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    id: str | None = None  # None: a fresh call_... / toolu_... id per response
    pieces: int = 2
    custom: bool = False

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))

    def argument_pieces(self) -> list[str]:
        return split_text(self.arguments_json, self.pieces)

    def input_object(self) -> Any:
        """Anthropic's parsed ``input`` (an empty object when the JSON does not parse)."""
        try:
            return json.loads(self.arguments_json)
        except ValueError:
            return {}


@dataclass
class FakeError:
    """An upstream error in the provider's own body shape.

    ``message``/``type``/``code``/``param`` default to what the provider sends for ``status``.
    ``times=None`` fails every request; ``times=K`` fails the next K requests, then stops.
    ``after_chunks=M`` (stream requests only) answers 200 and sends the provider's in-stream
    error event after M content chunks instead; non-stream requests get the HTTP error.
    """

    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    times: int | None = None
    after_chunks: int | None = None
    retry_after: int | None = None  # seconds, sent as the ``retry-after`` header

    def take(self) -> bool:
        """Use this error for one request; False once ``times`` is exhausted."""
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


@dataclass
class Scenario:
    """How the fake answers. Every field may be changed between (or during) requests."""

    text: str = "Hello from the fake provider!"
    chunks: int = 3  # the text is streamed in this many content deltas
    # Anthropic thinking block; OpenAI ``reasoning_content``; Gemini ``thought: true`` parts
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None  # None: tool_calls/tool_use when tools are called, else stop
    model: str | None = None  # reported model; None echoes the requested one (or deployment)

    prompt_tokens: int = 10  # OpenAI prompt_tokens; Anthropic input_tokens (uncached part)
    completion_tokens: int = 20  # OpenAI completion_tokens; Anthropic output_tokens
    cached_tokens: int = 0  # OpenAI prompt_tokens_details.cached_tokens
    reasoning_tokens: int = 0  # OpenAI completion_tokens_details.reasoning_tokens
    cache_read_tokens: int = 0  # Anthropic cache_read_input_tokens
    cache_creation_tokens: int = 0  # Anthropic 5-minute cache writes
    cache_creation_1h_tokens: int = 0  # Anthropic 1-hour cache writes
    stream_usage: StreamUsage = "requested"  # OpenAI: usage chunk only on include_usage

    first_byte_delay: float = 0.0  # seconds before the response (or error) starts
    chunk_delay: float = 0.0  # seconds before each streamed content chunk
    # Seconds before the first content chunk instead (None: ``chunk_delay``); 0 makes a format
    # without a leading frame (Gemini) start at once, as OpenAI's role chunk does.
    first_chunk_delay: float | None = None
    error: FakeError | None = None
    disconnect_after: int | None = None  # drop the connection after M content chunks
    stall_after: int | None = None  # stop sending after M content chunks, keep the socket open
    end_delay: float = 0.0  # seconds between a stream's last event and its end (socket open)

    embedding_dimensions: int = 8  # used when the request has no ``dimensions``
    flagged: bool = False  # moderations verdict
    models: tuple[str, ...] = DEFAULT_MODELS
    gemini_models: tuple[str, ...] = DEFAULT_GEMINI_MODELS  # Gemini's models.list (paged)

    def text_pieces(self) -> list[str]:
        return split_text(self.text, self.chunks)

    def thinking_pieces(self) -> list[str]:
        return split_text(self.thinking or "", self.chunks)

    def take_error(self) -> FakeError | None:
        """The error for the request being served now, consuming one of its ``times``."""
        if self.error is not None and self.error.take():
            return self.error
        return None

    @classmethod
    def for_magic_key(cls, key: str) -> Scenario | None:
        """``sk-fail-429`` (any key containing ``fail-<status>``) fails every request."""
        match = _FAIL_KEY.search(key)
        if match is None:
            return None
        return cls(error=FakeError(status=int(match.group(1))))


def split_text(text: str, pieces: int) -> list[str]:
    """``text`` in ``pieces`` near-equal consecutive parts (fewer when the text is shorter)."""
    if not text:
        return []
    count = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), count)
    parts: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        parts.append(text[start:end])
        start = end
    return parts
