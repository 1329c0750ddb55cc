"""The Quart seam for long-lived websockets: bounded inbound frames and the caller's close.

Quart's own :class:`~quart.asgi.ASGIWebsocketConnection` copies every inbound frame into an
unbounded queue (a fast caller fills memory while the upstream is slow) and, when the caller
disconnects, cancels the handler at once, so the bridge never learns the close code and cannot
close the upstream with it. This subclass, installed as ``app.asgi_websocket_class`` by the
realtime blueprint:

- holds at most ``INBOUND_FRAMES`` unread frames; past that it stops reading from the server,
  which stops reading the socket (TCP backpressure reaches the caller);
- on disconnect queues a :class:`CallerClosed` after the frames already received, and gives
  the handler ``CLOSE_GRACE`` seconds to finish the session before cancelling it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable
from quart.asgi import ASGIWebsocketConnection
from quart.signals import websocket_received
from quart.utils import cancel_tasks, raise_task_exceptions

INBOUND_FRAMES = 64
CLOSE_GRACE = 10.0


@dataclass(frozen=True, slots=True)
class CallerClosed:
    """The caller's side of the websocket ended; what ``websocket.receive()`` returns then."""

    code: int
    reason: str = ""


class BridgeWebsocketConnection(ASGIWebsocketConnection):
    def __init__(self, app: Any, scope: Any) -> None:
        super().__init__(app, scope)
        # Unbounded so the close marker always fits; the semaphore bounds the frames.
        self.queue = asyncio.Queue()
        self._space = asyncio.Semaphore(INBOUND_FRAMES)

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        websocket = self._create_websocket_from_scope(send)
        receiver = asyncio.ensure_future(self.handle_messages(receive))
        handler = asyncio.ensure_future(self.handle_websocket(websocket, send))
        done, _ = await asyncio.wait([handler, receiver], return_when=asyncio.FIRST_COMPLETED)
        if handler not in done:
            # The caller left: the handler reads CallerClosed and winds the session down.
            await asyncio.wait([handler], timeout=CLOSE_GRACE)
            done = {task for task in (handler, receiver) if task.done()}
        await cancel_tasks({task for task in (handler, receiver) if not task.done()})
        raise_task_exceptions(done)

    def _create_websocket_from_scope(self, send: ASGISendCallable) -> Any:
        websocket = super()._create_websocket_from_scope(send)
        websocket._receive = self._next_frame
        return websocket

    async def _next_frame(self) -> str | bytes | CallerClosed:
        item = await self.queue.get()
        if not isinstance(item, CallerClosed):
            self._space.release()
        return item

    async def handle_messages(self, receive: ASGIReceiveCallable) -> None:
        while True:
            event: Any = await receive()
            if event["type"] == "websocket.receive":
                message = event.get("bytes")
                if message is None:
                    message = event.get("text") or ""
                await websocket_received.send_async(message)
                await self._space.acquire()
                self.queue.put_nowait(message)
            elif event["type"] == "websocket.disconnect":
                code = int(event.get("code") or 1005)
                self.queue.put_nowait(CallerClosed(code, str(event.get("reason") or "")))
                return
