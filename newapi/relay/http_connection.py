"""The Quart seam for HTTP requests: a request body is read only once the handler wants it.

Quart's own :class:`~quart.asgi.ASGIHTTPConnection` copies the whole request body into memory
as it arrives, whether or not the handler reads it, so a caller without a valid key could make
a worker hold ``MAX_REQUEST_BODY_MB`` per connection. This subclass, installed as
``app.asgi_http_class``:

- pulls no body from the server until the handler calls :func:`open_body` (done for every
  endpoint not marked with :func:`body_after_checks` before its handler runs; a marked handler
  opens it after its header-only checks). Until then Hypercorn's bounded queue fills and it
  stops reading the socket, so TCP backpressure reaches the caller;
- answers a request refused before its body was opened with ``Connection: close``, then
  discards the rest of that body as it arrives (nothing of it is kept) and closes the
  connection once it is all in, so the caller reads the refusal and its next request opens a
  new connection. Closing at once would reset the connection under a caller still sending its
  body, and the SDKs, which read the response only after sending the body, would lose the
  refusal (``httpx.ReadError``) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent
from quart import Quart, current_app, request
from quart.asgi import ASGIHTTPConnection
from quart.typing import ResponseTypes

BODY_GATE = "newapi.body_gate"  # the scope extension holding the request's gate
_MARK = "_newapi_body_after_checks"
# How long a refused caller may take to send the rest of its body (discarded; nginx's
# lingering_time). Past it the connection is reset.
LINGER_SECONDS = 30.0
# Hypercorn queues the disconnect while the last send runs; this only bounds a server that
# would not.
DISCONNECT_WAIT = 5.0

View = TypeVar("View", bound=Callable[..., Awaitable[Any]])


def body_after_checks(view: View) -> View:
    """Mark a view that calls :func:`open_body` itself, after its header-only checks."""
    setattr(view, _MARK, True)
    return view


def open_body() -> None:
    """Let the current request's body in (the handler is about to read it)."""
    gate = (request.scope.get("extensions") or {}).get(BODY_GATE)
    if gate is not None:
        gate.set()


async def open_unless_marked() -> None:
    """``before_request``: every view not marked with :func:`body_after_checks` reads freely."""
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, _MARK, False):
        open_body()


class GatedHTTPConnection(ASGIHTTPConnection):
    def __init__(self, app: Quart, scope: Any) -> None:
        super().__init__(app, scope)
        self.gate = asyncio.Event()
        scope.setdefault("extensions", {})[BODY_GATE] = self.gate
        self._receive: ASGIReceiveCallable | None = None

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        self._receive = receive
        await super().__call__(receive, send)

    async def handle_messages(self, request: Any, receive: ASGIReceiveCallable) -> None:
        await self.gate.wait()
        await super().handle_messages(request, receive)

    async def _send_response(self, send: ASGISendCallable, response: ResponseTypes) -> None:
        if self.gate.is_set() or self._receive is None:
            await super()._send_response(send, response)
            return
        # Refused before the body was wanted: the connection ends with this response.
        if self.scope["http_version"].startswith("1"):
            response.headers["Connection"] = "close"
        await super()._send_response(_ClosingSend(send, self._receive), response)


class _ClosingSend:
    """``send`` for a response whose request body was never let in.

    The response goes out at once, but its end waits until the caller has sent the rest of
    its body, which is discarded as it comes (for at most ``LINGER_SECONDS``). Ending it
    earlier would make Hypercorn close a socket with unread data, which resets the connection:
    a client still writing its body (the SDKs read the response only once the body is sent)
    would then lose the response and see a connection error instead of the refusal.
    """

    def __init__(self, send: ASGISendCallable, receive: ASGIReceiveCallable) -> None:
        self.send, self.receive = send, receive

    async def __call__(self, message: ASGISendEvent) -> None:
        if message["type"] != "http.response.body" or message.get("more_body", False):
            await self.send(message)
            return
        await self.send({**message, "more_body": True})
        gone = False
        with contextlib.suppress(TimeoutError):
            gone = await asyncio.wait_for(self._discard_body(), LINGER_SECONDS)
        if gone:  # the caller left: nothing more will be queued
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        # Hypercorn hands over a disconnect event while the last part is sent, and waits for
        # room in a queue that may be full of unread body: take what comes meanwhile.
        discard = asyncio.ensure_future(self._discard_until_disconnect())
        try:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            await asyncio.wait([discard], timeout=DISCONNECT_WAIT)
        finally:
            discard.cancel()

    async def _discard_body(self) -> bool:
        """Discard the rest of the body: whether the caller disconnected meanwhile."""
        while True:
            event = await self.receive()
            if event["type"] == "http.disconnect":
                return True
            if not event.get("more_body", False):
                return False

    async def _discard_until_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass


def install(app: Quart) -> None:
    app.asgi_http_class = GatedHTTPConnection
    app.before_request(open_unless_marked)
