"""One request being served, and the I/O every provider shares: JSON replies and SSE streams.

Provider modules build the stream as a list of :class:`Event`s (pure data); :func:`send_stream`
writes them one ``write`` per event (so nothing is coalesced by the fake), sleeps
``chunk_delay`` before each content event (``first_chunk_delay``, when set, before the first),
and cuts the stream where the scenario says: an in-stream error event
(``FakeError.after_chunks``) or a dropped connection (``Scenario.disconnect_after``), or stalls
it with the socket open (``Scenario.stall_after``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import orjson
from aiohttp import web

from bench.fakes.scenario import FakeError, Scenario

# "vertex": Vertex AI's Google publisher (Gemini bodies); "vertex-anthropic": its Anthropic
# publisher (Anthropic bodies, but Google's front end checks the credentials).
Provider = Literal["openai", "azure", "anthropic", "gemini", "vertex", "vertex-anthropic"]
GOOGLE: frozenset[Provider] = frozenset({"gemini", "vertex", "vertex-anthropic"})


class Kind(Enum):
    FRAME = "frame"  # structure before/between content (role chunk, block starts, pings)
    CONTENT = "content"  # a counted, delayed delta: text, thinking or tool arguments
    TAIL = "tail"  # everything after the content (finish, usage, [DONE], message_stop)


@dataclass(frozen=True, slots=True)
class Event:
    data: bytes
    kind: Kind = Kind.FRAME


@dataclass(slots=True)
class Call:
    """The request being answered, with the scenario chosen for its API key."""

    request: web.Request
    body: dict[str, Any]
    scenario: Scenario
    provider: Provider
    api_key: str
    stream_error: FakeError | None = None  # an error to deliver inside the stream

    @property
    def model(self) -> str:
        """The model the response reports (scenario override, body, then the path's
        Azure deployment or Google model)."""
        if self.scenario.model:
            return self.scenario.model
        model = self.body.get("model")
        if isinstance(model, str) and model:
            return model
        path = self.request.match_info
        return path.get("deployment") or path.get("model", "")

    @property
    def stream(self) -> bool:
        """``stream: true`` in the body, or Google's ``:stream...`` method in the path."""
        method = self.request.match_info.get("method", "")
        return self.body.get("stream") is True or method.startswith("stream")


def new_id(prefix: str) -> str:
    return prefix + os.urandom(12).hex()


def response_headers(provider: Provider) -> dict[str, str]:
    if provider == "anthropic":
        return {"request-id": new_id("req_")}
    if provider == "azure":
        return {"apim-request-id": new_id(""), "x-request-id": new_id("")}
    if provider in GOOGLE:
        return {}  # Google's front end sends no request id header
    return {"x-request-id": new_id("req_")}


def json_response(
    call: Call, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    merged = response_headers(call.provider)
    if headers:
        merged.update(headers)
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type="application/json", headers=merged
    )


def sse_data(payload: Any) -> bytes:
    """An OpenAI-style event: ``data: <json>`` and a blank line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def sse_named(name: str, payload: Any) -> bytes:
    """An Anthropic-style event: ``event: <name>``, ``data: <json>``, blank line."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def drop_connection(request: web.Request) -> None:
    """Close the socket without finishing the response (what a crashed upstream looks like)."""
    if request.transport is not None:
        request.transport.close()


STALL_LIMIT = 600.0  # seconds a stalled stream is held open at most


def _cut_point(call: Call) -> int | None:
    limits = [call.scenario.disconnect_after, call.scenario.stall_after]
    if call.stream_error is not None:
        limits.append(call.stream_error.after_chunks)
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _reached(kind: Kind, sent: int, cut_at: int) -> bool:
    """Cut before the next content chunk past the limit, or before the tail at the latest."""
    return kind is Kind.TAIL or (kind is Kind.CONTENT and sent >= cut_at)


async def _cut(
    call: Call, resp: web.StreamResponse, cut_at: int, error_event: Callable[[FakeError], bytes]
) -> None:
    """The error event when the error's cut comes first (or together), else a dropped socket."""
    error = call.stream_error
    if error is not None and error.after_chunks == cut_at:
        await resp.write(error_event(error))
    elif call.scenario.stall_after == cut_at:
        await _stall(call.request)
    else:
        drop_connection(call.request)


async def _stall(request: web.Request) -> None:
    """Send nothing more until the client hangs up (or ``STALL_LIMIT`` passes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STALL_LIMIT
    while loop.time() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)


SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def _content_delay(scenario: Scenario, sent: int) -> float:
    """Seconds to wait before the content chunk that follows ``sent`` earlier ones."""
    if sent == 0 and scenario.first_chunk_delay is not None:
        return scenario.first_chunk_delay
    return scenario.chunk_delay


async def send_stream(
    call: Call,
    events: Iterable[Event],
    error_event: Callable[[FakeError], bytes],
    content_type: str = SSE_CONTENT_TYPE,
) -> web.StreamResponse:
    """Write ``events`` as a streamed response (SSE unless told), one write per event."""
    headers = response_headers(call.provider)
    headers.update({"Content-Type": content_type, "Cache-Control": "no-cache"})
    resp = web.StreamResponse(headers=headers)
    cut_at, sent = _cut_point(call), 0
    try:
        await resp.prepare(call.request)
        for event in events:
            if cut_at is not None and _reached(event.kind, sent, cut_at):
                await _cut(call, resp, cut_at, error_event)
                return resp
            if event.kind is Kind.CONTENT:
                wait = _content_delay(call.scenario, sent)
                if wait > 0:
                    await asyncio.sleep(wait)
                sent += 1
            await resp.write(event.data)
        if call.scenario.end_delay > 0:
            await asyncio.sleep(call.scenario.end_delay)
    except ConnectionError:
        pass  # the client went away; nothing more to send
    return resp
