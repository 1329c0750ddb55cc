"""Two fixes to Hypercorn 0.18's websocket stream, installed when the realtime blueprint is.

1. **The caller's close code.** Hypercorn answers a caller's close frame but tells the app
   ``websocket.disconnect`` with 1006 (1000 only when the app closed first), so the bridge
   cannot close the upstream with the caller's code. :class:`BridgeWSStream` remembers the
   code and reason of the caller's close frame and puts them in the disconnect event.
2. **permessage-deflate.** Hypercorn accepts the extension whenever a client offers it (browsers
   and the ``websockets`` client do). Base64 audio barely compresses and deflating each 32 KB
   frame cut the relay from ~3,400 to ~250 frames a second on this kind of machine, so the
   extension is declined: the handshake answers without ``Sec-WebSocket-Extensions``.

3. **Server pings** (``websocket_ping_interval``) stop as soon as the websocket closes instead
   of after the rest of the interval, which held each closed connection and shutdown.

Hypercorn builds its streams from the ``WSStream`` name in its HTTP/1.1, HTTP/2 and HTTP/3
protocol modules; :func:`install` points those names at the subclass (idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any

from hypercorn.protocol.events import Event, StreamClosed
from hypercorn.protocol.ws_stream import ASGIWebsocketState, FrameTooLargeError, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason

_PROTOCOL_MODULES = ("hypercorn.protocol.h11", "hypercorn.protocol.h2", "hypercorn.protocol.h3")


class BridgeWSStream(WSStream):
    caller_close: tuple[int, str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ended = asyncio.Event()

    async def handle(self, event: Event) -> None:
        try:
            await self._handle(event)
        finally:
            if self.closed:
                self._ended.set()

    async def _send_pings(self) -> None:
        # Hypercorn sleeps the whole interval between pings, so every closed websocket kept
        # its connection task (and a graceful shutdown) waiting up to websocket_ping_interval.
        interval = float(self.config.websocket_ping_interval or 0)
        while not self.closed:
            await self._send_wsproto_event(Ping())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), interval)

    async def _handle(self, event: Event) -> None:
        close = self.caller_close
        if (
            isinstance(event, StreamClosed)
            and close is not None
            and not self.closed
            and self.app_put is not None
            and self.state == ASGIWebsocketState.CONNECTED
        ):
            self.closed = True
            await self.app_put(
                {"type": "websocket.disconnect", "code": close[0], "reason": close[1]}
            )
            return
        await super().handle(event)

    async def _accept(self, message: Any) -> None:
        self.handshake.extensions = None  # decline permessage-deflate (see the module doc)
        await super()._accept(message)

    async def _handle_events(self) -> None:
        # Hypercorn's loop, plus remembering the caller's close frame.
        for event in self.connection.events():
            if isinstance(event, Message):
                try:
                    self.buffer.extend(event)
                except FrameTooLargeError:
                    await self._send_wsproto_event(
                        CloseConnection(code=CloseReason.MESSAGE_TOO_BIG)
                    )
                    break
                if event.message_finished:
                    await self.app_put(self.buffer.to_message())  # type: ignore[misc]
                    self.buffer.clear()
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                self.caller_close = (int(event.code), event.reason or "")
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                await self.send(StreamClosed(stream_id=self.stream_id))


def install() -> None:
    for name in _PROTOCOL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # HTTP/3 needs aioquic, an optional extra
            continue
        if getattr(module, "WSStream", None) is WSStream:
            module.WSStream = BridgeWSStream  # type: ignore[attr-defined]
