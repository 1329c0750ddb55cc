"""Reading realtime server events as they pass (pure: no I/O).

Frames are forwarded untouched; the :class:`Inspector` only looks. OpenAI writes ``type`` as
the first key, so most frames (audio deltas of tens of kilobytes among them) are classified
from their first bytes without parsing; a frame that does not start that way is parsed whole.
Only the few events that matter are parsed: ``response.done`` (billing), ``error``, and the
text deltas counted for a ``response.done`` that carries no usage. Beta and GA names both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from newapi.protocol.tokens import estimate_text
from newapi.protocol.usage import Usage

_TYPE_FIRST = re.compile(r'\s*\{\s*"type"\s*:\s*"([A-Za-z0-9_.]{1,100})"')

RESPONSE_DONE = "response.done"
AUDIO_DELTAS = frozenset({"response.audio.delta", "response.output_audio.delta"})
TEXT_DELTAS = frozenset(
    {
        "response.text.delta",
        "response.output_text.delta",
        "response.audio_transcript.delta",
        "response.output_audio_transcript.delta",
        "response.function_call_arguments.delta",
    }
)
# pcm16 at 24 kHz mono; g711 at 8 kHz, one byte a sample. new-api's heuristic for output
# audio tokens when upstream reports no usage: 200 tokens per 0.24 minutes of audio.
_BYTES_PER_SECOND = {"pcm16": 48_000, "g711_ulaw": 8_000, "g711_alaw": 8_000}
_AUDIO_TOKENS_PER_SECOND = 200 / 0.24 / 60
_GA_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(int(value), 0)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class RealtimeUsage:
    """One response's usage split the way realtime prices it. Cached tokens are inside the
    text/audio inputs they belong to."""

    text_in: int = 0
    audio_in: int = 0
    cached_text: int = 0
    cached_audio: int = 0
    text_out: int = 0
    audio_out: int = 0
    estimated: bool = False  # counted locally: response.done carried no usage

    @property
    def input_tokens(self) -> int:
        return self.text_in + self.audio_in

    @property
    def output_tokens(self) -> int:
        return self.text_out + self.audio_out

    @property
    def is_empty(self) -> bool:
        return self.input_tokens + self.output_tokens == 0

    def as_usage(self) -> Usage:
        """The gateway's one usage record (for logs and counters)."""
        return Usage(
            prompt_tokens=self.input_tokens,
            completion_tokens=self.output_tokens,
            cache_read_tokens=self.cached_text + self.cached_audio,
            audio_prompt_tokens=self.audio_in,
            audio_completion_tokens=self.audio_out,
            estimated=self.estimated,
        )


def parse_usage(raw: Any) -> RealtimeUsage | None:
    """``response.done.response.usage`` (beta and GA share it); None when there is none."""
    if not isinstance(raw, dict):
        return None
    total_in, total_out = _int(raw.get("input_tokens")), _int(raw.get("output_tokens"))
    details_in = _dict(raw.get("input_token_details"))
    details_out = _dict(raw.get("output_token_details"))
    audio_in = min(_int(details_in.get("audio_tokens")), total_in)
    text_in = total_in - audio_in  # text, images and anything unnamed bill as text
    cached = min(_int(details_in.get("cached_tokens")), total_in)
    split = _dict(details_in.get("cached_tokens_details"))
    if split:
        cached_audio = min(_int(split.get("audio_tokens")), audio_in, cached)
    else:
        cached_audio = max(cached - text_in, 0)  # no breakdown: text first
    cached_text = min(cached - cached_audio, text_in)
    audio_out = min(_int(details_out.get("audio_tokens")), total_out)
    return RealtimeUsage(
        text_in=text_in,
        audio_in=audio_in,
        cached_text=cached_text,
        cached_audio=cached_audio,
        text_out=total_out - audio_out,
        audio_out=audio_out,
    )


@dataclass(frozen=True, slots=True)
class Turn:
    """A finished response: what to bill."""

    response_id: str
    usage: RealtimeUsage


def event_type(frame: str | bytes) -> tuple[str, dict[str, Any] | None]:
    """The event's ``type`` and, when it had to be parsed for it, the parsed event."""
    text = frame if isinstance(frame, str) else frame[:256].decode(errors="ignore")
    match = _TYPE_FIRST.match(text)
    if match is not None:
        return match.group(1), None
    try:
        event = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return "", None
    if not isinstance(event, dict):
        return "", None
    kind = event.get("type")
    return (kind if isinstance(kind, str) else ""), event


class Inspector:
    """Watches server frames of one session; returns a :class:`Turn` at each response.done."""

    def __init__(self) -> None:
        self.output_format = "pcm16"
        self.in_progress = False  # a response started and its response.done has not come
        self._text_out = 0
        self._audio_bytes = 0

    def server_frame(self, frame: str | bytes) -> Turn | None:
        if isinstance(frame, bytes) and not frame.lstrip().startswith(b"{"):
            return None  # a binary frame that is not JSON: not an event
        kind, event = event_type(frame)
        if kind in AUDIO_DELTAS:
            # base64 of the audio, plus ~120 bytes of envelope: close enough for a fallback.
            self._audio_bytes += max(len(frame) - 120, 0) * 3 // 4
            self.in_progress = True
            return None
        if kind in TEXT_DELTAS:
            delta = _dict(event if event is not None else _load(frame)).get("delta")
            self._text_out += estimate_text(delta) if isinstance(delta, str) else 0
            self.in_progress = True
            return None
        if kind == "response.created":
            self.in_progress = True
            return None
        if kind in ("session.created", "session.updated"):
            self._remember_format(event if event is not None else _load(frame))
            return None
        if kind == RESPONSE_DONE:
            return self._done(event if event is not None else _load(frame))
        return None

    def _remember_format(self, event: dict[str, Any]) -> None:
        session = _dict(event.get("session"))
        fmt = session.get("output_audio_format")  # beta
        if not isinstance(fmt, str):  # GA: session.audio.output.format.type
            output = _dict(_dict(session.get("audio")).get("output"))
            fmt = _dict(output.get("format")).get("type")
        if isinstance(fmt, str) and fmt:
            self.output_format = _GA_FORMATS.get(fmt, fmt)

    def unfinished(self) -> Turn | None:
        """The response cut off before its response.done, counted from what passed."""
        if not self.in_progress:
            return None
        usage = self._counted()
        return None if usage.is_empty else Turn("", usage)

    def _done(self, event: dict[str, Any]) -> Turn:
        response = _dict(event.get("response"))
        usage = parse_usage(response.get("usage")) or self._counted()
        self._text_out = self._audio_bytes = 0
        self.in_progress = False
        response_id = response.get("id")
        return Turn(response_id if isinstance(response_id, str) else "", usage)

    def _counted(self) -> RealtimeUsage:
        per_second = _BYTES_PER_SECOND.get(self.output_format, 8_000)
        audio = round(self._audio_bytes / per_second * _AUDIO_TOKENS_PER_SECOND)
        self._text_out, text, self._audio_bytes = 0, self._text_out, 0
        self.in_progress = False
        return RealtimeUsage(text_out=text, audio_out=audio, estimated=True)


def _load(frame: str | bytes) -> dict[str, Any]:
    try:
        return _dict(orjson.loads(frame))
    except orjson.JSONDecodeError:
        return {}


def error_event(request_id: str, message: str, code: str, kind: str) -> str:
    """An ``error`` server event the gateway itself sends (quota, timeouts, upstream lost)."""
    body = {
        "type": "error",
        "event_id": f"evt_{request_id}",
        "error": {"message": message, "type": kind, "param": None, "code": code},
    }
    return orjson.dumps(body).decode()
