"""A fake Realtime upstream (websocket) for OpenAI and Azure OpenAI, shared by tests and bench/.

Paths (on the :class:`~bench.fakes.server.FakeProviders` port):

- OpenAI ``GET /v1/realtime?model=...`` (``Authorization: Bearer`` or the subprotocol
  ``openai-insecure-api-key.<key>``);
- Azure preview ``GET /openai/realtime?api-version=...&deployment=...`` and GA
  ``GET /openai/v1/realtime?model=...`` (``api-key`` header).

The event names follow the *beta* interface when the caller sent ``OpenAI-Beta: realtime=v1``
(or the subprotocol ``openai-beta.realtime-v1``) and on Azure's preview path; otherwise the GA
names (``response.output_text.delta``, ``response.output_audio.delta``,
``conversation.item.added``...). A GA model (``gpt-realtime*``) called with the beta header
gets an ``error`` event and a 1008 close, as OpenAI did to gateways that always sent it.
Responses run beside the reader, so ``response.cancel`` stops one between deltas; its
``response.done`` then has status ``cancelled`` (with the scripted usage).

What a session does is scripted by the API key, like the HTTP fakes: the key's
:class:`~bench.fakes.scenario.Scenario` gives the text, tool calls, token counts, a handshake
error (``scenario.error``: an HTTP error instead of the upgrade) and delays; the key's
:class:`RealtimeScript` (``fake.realtime.script(key)``) adds audio, cached audio, usage-less
responses, ``error`` events and an upstream-initiated close. Binary frames are echoed back as
binary frames (real upstreams send none; the echo lets a test see binary bridging).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from bench.fakes.call import Call, Provider, json_response, new_id
from bench.fakes.errors import error_response
from bench.fakes.scenario import FakeError, Scenario

if TYPE_CHECKING:
    from bench.fakes.server import FakeProviders

KEY_PROTOCOL = "openai-insecure-api-key."
BETA_PROTOCOL = "openai-beta.realtime-v1"
PATHS: tuple[tuple[str, Provider], ...] = (
    ("/v1/realtime", "openai"),
    ("/openai/realtime", "azure"),
    ("/openai/v1/realtime", "azure"),
)


@dataclass
class RealtimeScript:
    """Realtime-only behaviour for one key (the rest comes from its Scenario)."""

    audio_chunks: int = 0  # audio deltas per response when audio is requested (0: text only)
    audio_chunk_bytes: int = 4800  # raw PCM bytes per audio delta (base64 on the wire)
    audio_input_tokens: int = 0  # inside Scenario.prompt_tokens
    audio_output_tokens: int = 0  # inside Scenario.completion_tokens
    cached_audio_tokens: int = 0  # inside Scenario.cached_tokens
    usage: bool = True  # response.done carries usage
    error_event: FakeError | None = None  # answer response.create with an error event instead
    close_after_responses: int | None = None  # upstream closes after this many response.done
    cut_after_deltas: int | None = None  # upstream closes mid-response, before response.done
    close_code: int = 1000
    close_reason: str = ""
    response_delay: float = 0.0  # seconds before each response starts


@dataclass(frozen=True, slots=True)
class RecordedSession:
    """One realtime session as the fake saw it (events are appended while it runs)."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    api_key: str
    provider: Provider
    beta: bool
    subprotocols: tuple[str, ...]
    client_events: list[dict[str, Any]] = field(default_factory=list)
    binary_frames: list[bytes] = field(default_factory=list)
    closed: list[tuple[int, str]] = field(default_factory=list)  # (code, reason) seen

    @property
    def model(self) -> str:
        return self.query.get("model") or self.query.get("deployment") or ""


class RealtimeFake:
    """The realtime routes of one FakeProviders server and the sessions they served."""

    def __init__(self, providers: FakeProviders) -> None:
        self._providers = providers
        self.scripts: dict[str, RealtimeScript] = {}
        self.default = RealtimeScript()
        self.sessions: list[RecordedSession] = []  # accepted sessions
        self.handshakes: list[RecordedSession] = []  # every handshake, refused ones included
        self.open_sessions = 0

    def script(self, key: str, script: RealtimeScript | None = None) -> RealtimeScript:
        """The realtime script for sessions with API key ``key`` (created on first use)."""
        if script is not None:
            self.scripts[key] = script
        return self.scripts.setdefault(key, RealtimeScript())

    def add_routes(self, app: web.Application) -> None:
        for path, provider in PATHS:
            app.router.add_get(path, self._handler(provider))

    def _handler(self, provider: Provider) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, provider)

        return handle

    async def _serve(self, request: web.Request, provider: Provider) -> web.StreamResponse:
        offered = _offered_protocols(request)
        key = _realtime_key(request, provider, offered)
        scenario = self._providers.scenario_for(key)
        session = _record(request, provider, key, offered)
        keep = self._providers.record  # off for load tests: nothing grows per frame
        if keep:
            self.handshakes.append(session)
        call = Call(request, {"model": session.model}, scenario, provider, key)
        if scenario.first_byte_delay > 0:
            await asyncio.sleep(scenario.first_byte_delay)
        problem = _handshake_problem(request, provider, key) or scenario.take_error()
        if problem is not None:
            return error_response(call, problem)
        chosen = "realtime" if "realtime" in offered else None
        ws = web.WebSocketResponse(protocols=(chosen,) if chosen else (), autoping=True)
        await ws.prepare(request)
        if keep:
            self.sessions.append(session)
        self.open_sessions += 1
        script = self.scripts.get(key, self.default)
        try:
            await _Session(ws, session, scenario, script, keep).run()
        finally:
            self.open_sessions -= 1
        return ws


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    raw = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _realtime_key(request: web.Request, provider: Provider, offered: tuple[str, ...]) -> str:
    if provider == "azure":
        return request.headers.get("api-key", "")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for item in offered:
        if item.startswith(KEY_PROTOCOL):
            return item.removeprefix(KEY_PROTOCOL)
    return ""


def _record(
    request: web.Request, provider: Provider, key: str, offered: tuple[str, ...]
) -> RecordedSession:
    beta_header = request.headers.get("OpenAI-Beta", "").lower() == "realtime=v1"
    preview_path = request.path == "/openai/realtime"
    return RecordedSession(
        path=request.path,
        query=dict(request.query),
        headers={k.lower(): v for k, v in request.headers.items()},
        api_key=key,
        provider=provider,
        beta=beta_header or BETA_PROTOCOL in offered or preview_path,
        subprotocols=offered,
    )


def _handshake_problem(request: web.Request, provider: Provider, key: str) -> FakeError | None:
    if not key:
        return FakeError(401, "You didn't provide an API key.")
    query = request.query
    if request.path == "/openai/realtime":
        if "api-version" not in query or "deployment" not in query:
            return FakeError(404, "api-version and deployment are required")
    elif not query.get("model"):
        return FakeError(400, "Missing required parameter: 'model'.", param="model")
    return None


class _Session:
    """One scripted conversation: answers client events until either side closes."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        record: RecordedSession,
        scenario: Scenario,
        script: RealtimeScript,
        keep: bool = True,
    ) -> None:
        self.ws, self.record, self.scenario, self.script = ws, record, scenario, script
        self.keep = keep  # record client events and binary frames
        self.beta = record.beta
        self.responses = 0
        self.responding: asyncio.Task[bool] | None = None  # responses run beside the reader
        self.cancelled = False  # response.cancel arrived for the running response
        self.session: dict[str, Any] = {
            "id": new_id("sess_"),
            "object": "realtime.session",
            "model": record.model,
            "instructions": "",
            "tools": [],
        }
        if self.beta:
            self.session.update(modalities=["text", "audio"], input_audio_format="pcm16")
        else:
            self.session.update(type="realtime", output_modalities=["audio"])

    async def run(self) -> None:
        if self._ga_model_with_beta_header():
            await self.send("error", error=_error_body(400, "beta_header_not_supported"))
            await self.close(1008, "the beta interface is not available for this model")
            return
        await self.send("session.created", session=self.session)
        try:
            await self._read()
        finally:
            if self.responding is not None and not self.responding.done():
                self.responding.cancel()

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message.type == WSMsgType.TEXT:
                if not await self.on_event(orjson.loads(message.data)):
                    return
            elif message.type == WSMsgType.BINARY:
                if self.keep:
                    self.record.binary_frames.append(message.data)
                await self.ws.send_bytes(message.data)
            elif message.type == WSMsgType.CLOSE:
                self.record.closed.append((int(message.data), str(message.extra or "")))
                await self.ws.close()
                return
            else:  # CLOSING, CLOSED, ERROR: the caller went away without a close frame
                self.record.closed.append((self.ws.close_code or 1006, ""))
                return

    def _ga_model_with_beta_header(self) -> bool:
        beta_header = self.record.headers.get("openai-beta", "").lower() == "realtime=v1"
        return beta_header and self.record.model.startswith("gpt-realtime")

    async def send(self, kind: str, **fields: Any) -> None:
        await self.ws.send_str(
            orjson.dumps({"type": kind, "event_id": new_id("event_"), **fields}).decode()
        )

    async def close(self, code: int, reason: str) -> None:
        self.record.closed.append((code, reason))
        await self.ws.close(code=code, message=reason.encode())

    async def on_event(self, event: dict[str, Any]) -> bool:
        """Answer one client event; False once the fake closed the session."""
        if self.keep:
            self.record.client_events.append(event)
        kind = event.get("type")
        if kind == "session.update":
            self.session.update(event.get("session") or {})
            await self.send("session.updated", session=self.session)
        elif kind == "input_audio_buffer.append":
            pass  # audio is only counted by the scripted usage
        elif kind == "input_audio_buffer.commit":
            await self.send("input_audio_buffer.committed", item_id=new_id("item_"))
        elif kind == "conversation.item.create":
            await self._item_created(event.get("item") or {})
        elif kind == "response.create":
            if self.responding is None or self.responding.done():
                self.cancelled = False
                self.responding = asyncio.ensure_future(self._respond(event.get("response") or {}))
        elif kind == "response.cancel":
            self.cancelled = self.responding is not None and not self.responding.done()
        else:
            await self.send("error", error=_error_body(400, "unknown_event", str(kind)))
        return True

    async def _item_created(self, item: dict[str, Any]) -> None:
        item = {"id": new_id("item_"), "object": "realtime.item", **item, "status": "completed"}
        if self.beta:
            await self.send("conversation.item.created", previous_item_id=None, item=item)
        else:
            await self.send("conversation.item.added", previous_item_id=None, item=item)
            await self.send("conversation.item.done", previous_item_id=None, item=item)

    async def _respond(self, request: dict[str, Any]) -> bool:
        if self.script.response_delay > 0:
            await asyncio.sleep(self.script.response_delay)
        problem = self.script.error_event
        if problem is not None and problem.take():
            body = _error_body(problem.status, problem.code or "server_error", problem.message)
            await self.send("error", error=body)
            return True
        response_id = new_id("resp_")
        await self.send("response.created", response=_response(response_id, "in_progress"))
        if self._audio(request):
            await self._audio_output(response_id)
        elif not await self._text_output(response_id):
            return False
        for call in self.scenario.tool_calls:
            await self._function_call(response_id, call.name, call.argument_pieces())
        done = _response(response_id, "cancelled" if self.cancelled else "completed")
        if self.script.usage:
            done["usage"] = self._usage()
        await self.send("response.done", response=done)
        self.responses += 1
        limit = self.script.close_after_responses
        if limit is not None and self.responses >= limit:
            await self.close(self.script.close_code, self.script.close_reason)
            return False
        return True

    def _audio(self, request: dict[str, Any]) -> bool:
        modalities = (
            request.get("modalities")
            or request.get("output_modalities")
            or self.session.get("modalities")
            or self.session.get("output_modalities")
            or []
        )
        return self.script.audio_chunks > 0 and "audio" in modalities

    async def _text_output(self, response_id: str) -> bool:
        """The text deltas; False when the script cut the session mid-response."""
        kind = "response.text.delta" if self.beta else "response.output_text.delta"
        for index, piece in enumerate(self.scenario.text_pieces()):
            await self._pause()
            if self.cancelled:
                return True
            if await self._cut(index):
                return False
            await self.send(kind, response_id=response_id, item_id="item_0", delta=piece)
        done = "response.text.done" if self.beta else "response.output_text.done"
        await self.send(done, response_id=response_id, item_id="item_0", text=self.scenario.text)
        return True

    async def _cut(self, sent: int) -> bool:
        """Close mid-response (no response.done) once ``cut_after_deltas`` deltas went out."""
        limit = self.script.cut_after_deltas
        if limit is None or sent < limit:
            return False
        await self.close(self.script.close_code, self.script.close_reason)
        return True

    async def _audio_output(self, response_id: str) -> None:
        audio = "response.audio.delta" if self.beta else "response.output_audio.delta"
        transcript = (
            "response.audio_transcript.delta"
            if self.beta
            else "response.output_audio_transcript.delta"
        )
        chunk = base64.b64encode(bytes(self.script.audio_chunk_bytes)).decode()
        for _ in range(self.script.audio_chunks):
            await self._pause()
            if self.cancelled:
                return
            await self.send(audio, response_id=response_id, item_id="item_0", delta=chunk)
        for piece in self.scenario.text_pieces():
            await self.send(transcript, response_id=response_id, item_id="item_0", delta=piece)
        done = "response.audio.done" if self.beta else "response.output_audio.done"
        await self.send(done, response_id=response_id, item_id="item_0")

    async def _function_call(self, response_id: str, name: str, pieces: list[str]) -> None:
        call_id = new_id("call_")
        for piece in pieces:
            await self.send(
                "response.function_call_arguments.delta",
                response_id=response_id,
                call_id=call_id,
                delta=piece,
            )
        await self.send(
            "response.function_call_arguments.done",
            response_id=response_id,
            call_id=call_id,
            name=name,
            arguments="".join(pieces),
        )

    async def _pause(self) -> None:
        if self.scenario.chunk_delay > 0:
            await asyncio.sleep(self.scenario.chunk_delay)

    def _usage(self) -> dict[str, Any]:
        scenario, script = self.scenario, self.script
        audio_in = min(script.audio_input_tokens, scenario.prompt_tokens)
        audio_out = min(script.audio_output_tokens, scenario.completion_tokens)
        cached = min(scenario.cached_tokens, scenario.prompt_tokens)
        cached_audio = min(script.cached_audio_tokens, cached, audio_in)
        return {
            "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
            "input_tokens": scenario.prompt_tokens,
            "output_tokens": scenario.completion_tokens,
            "input_token_details": {
                "cached_tokens": cached,
                "text_tokens": scenario.prompt_tokens - audio_in,
                "audio_tokens": audio_in,
                "cached_tokens_details": {
                    "text_tokens": cached - cached_audio,
                    "audio_tokens": cached_audio,
                },
            },
            "output_token_details": {
                "text_tokens": scenario.completion_tokens - audio_out,
                "audio_tokens": audio_out,
            },
        }


def _response(response_id: str, status: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": None,
        "output": [],
        "created_at": int(time.time()),
    }


def _error_body(status: int, code: str, message: str | None = None) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {
        "type": kind,
        "code": code,
        "message": message or f"Fake realtime error ({code}).",
        "param": None,
        "event_id": None,
    }


# ---- HTTP: ephemeral keys for browsers ---------------------------------------------------------


def _secret() -> dict[str, Any]:
    return {"value": new_id("ek_"), "expires_at": int(time.time()) + 600}


async def sessions(call: Call) -> web.StreamResponse:
    """Beta ``POST /v1/realtime/sessions``: the session with its ``client_secret``."""
    session = {
        "id": new_id("sess_"),
        "object": "realtime.session",
        "model": call.model,
        "modalities": call.body.get("modalities") or ["audio", "text"],
        "client_secret": _secret(),
    }
    return json_response(call, session)


async def client_secrets(call: Call) -> web.StreamResponse:
    """GA ``POST /v1/realtime/client_secrets`` (also Azure's ``/openai/v1/...``)."""
    requested = call.body.get("session")
    session = dict(requested) if isinstance(requested, dict) else {"type": "realtime"}
    session.setdefault("model", "gpt-realtime")
    session["id"] = new_id("sess_")
    return json_response(call, {**_secret(), "session": session})
