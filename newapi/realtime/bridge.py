"""One bridged session: two pumps and a watchdog, until one of them ends it.

States: ``OPEN`` while both pumps run; the first of them to finish decides the
:class:`Ending` - caller closed, upstream closed, quota exhausted, idle or too long - and the
bridge moves to ``CLOSING`` (the other pump is cancelled, the error event and close frames are
sent) and then ``CLOSED``. Frames are forwarded as received (text as text, binary as binary,
never parsed and re-serialised); every queue on the way is bounded (the caller side by
:mod:`newapi.realtime.connection`, the upstream side by ``websockets``' ``max_queue`` and
``write_limit``), so a slow reader slows the writer instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from newapi.realtime.connection import CallerClosed
from newapi.realtime.events import Inspector, Turn, error_event
from newapi.realtime.metering import Charge
from newapi.realtime.upstream import close_reason, sendable_close

log = logging.getLogger(__name__)

Frame = str | bytes
CLOSE_WAIT = 5.0  # seconds a caller gets to answer our close frame
CANCEL_WAIT = 2.0  # seconds an upstream gets to report a cancelled response's usage
CANCEL = '{"type":"response.cancel"}'


class CallerSocket(Protocol):
    """The caller's side (Quart's websocket object under the bridge connection class)."""

    async def receive(self) -> Any: ...
    async def send(self, data: Frame) -> None: ...
    async def close(self, code: int, reason: str = "") -> None: ...


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Ending:
    """How a session ends: what each still-open side is sent."""

    why: str
    to_caller: Close | None = None  # None: the caller is gone already
    to_upstream: Close | None = None  # None: the upstream is gone already
    caller_event: str | None = None  # an error event sent before the caller's close


@dataclass(frozen=True, slots=True)
class Limits:
    idle_seconds: float
    max_seconds: float


Biller = Callable[[Turn], Awaitable[Charge]]


class Bridge:
    def __init__(
        self,
        caller: CallerSocket,
        upstream: ClientConnection,
        bill: Biller,
        limits: Limits,
        request_id: str,
    ) -> None:
        self.caller, self.upstream, self.bill = caller, upstream, bill
        self.limits, self.request_id = limits, request_id
        self.inspector = Inspector()
        self.state = State.OPEN
        self.ending: Ending | None = None
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self._started = self._last_frame = loop.time()

    async def run(self) -> Ending:
        pumps = [
            asyncio.ensure_future(self._from_caller()),
            asyncio.ensure_future(self._from_upstream()),
            asyncio.ensure_future(self._watchdog()),
        ]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.state = State.CLOSING
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        first = next(iter(done))
        failure = first.exception()
        if failure is not None:
            self.state = State.CLOSED
            await self.upstream.close(1011, "gateway error")
            raise failure
        self.ending = first.result()
        await self._finish(self.ending)
        self.state = State.CLOSED
        return self.ending

    async def _from_caller(self) -> Ending:
        while True:
            frame = await self.caller.receive()
            if isinstance(frame, CallerClosed):
                code = sendable_close(frame.code, lost=1001)
                return Ending("caller closed", None, Close(code, close_reason(frame.reason)))
            self._last_frame = self._clock()
            try:
                await self.upstream.send(frame)
            except ConnectionClosed:
                return self._upstream_closed()

    async def _from_upstream(self) -> Ending:
        while True:
            try:
                frame = await self.upstream.recv()
            except ConnectionClosed:
                return self._upstream_closed()
            self._last_frame = self._clock()
            turn = self.inspector.server_frame(frame)
            # Billed before forwarding, shielded: ending the session meanwhile loses no charge.
            charge = await asyncio.shield(self.bill(turn)) if turn is not None else None
            await self.caller.send(frame)
            if charge is not None and charge.exhausted:
                return self._out_of_quota()

    def _upstream_closed(self) -> Ending:
        code = sendable_close(self.upstream.close_code, lost=1011)
        reason = self.upstream.close_reason or ""
        if self.upstream.close_code in (None, 1006):
            reason = "the upstream connection was lost"
        return Ending("upstream closed", Close(code, close_reason(reason)), None)

    def _out_of_quota(self) -> Ending:
        message = "your quota is used up: the realtime session ends (top up to continue)"
        event = error_event(
            self.request_id, message, "insufficient_user_quota", "insufficient_quota"
        )
        return Ending(
            "quota exhausted",
            Close(1008, "insufficient quota"),
            Close(1000, "session ended by the gateway"),
            event,
        )

    async def _watchdog(self) -> Ending:
        while True:
            now = self._clock()
            idle_left = self._last_frame + self.limits.idle_seconds - now
            total_left = self._started + self.limits.max_seconds - now
            if total_left <= 0:
                return self._timed_out(
                    "session_max_duration",
                    f"the session reached its maximum length of {self.limits.max_seconds:g} s",
                )
            if idle_left <= 0:
                return self._timed_out(
                    "session_idle_timeout",
                    f"no frame in either direction for {self.limits.idle_seconds:g} s",
                )
            await asyncio.sleep(min(idle_left, total_left) + 0.01)

    def _timed_out(self, code: str, message: str) -> Ending:
        event = error_event(self.request_id, message, code, "invalid_request_error")
        return Ending(code, Close(1000, code), Close(1000, code), event)

    async def _finish(self, ending: Ending) -> None:
        await self._bill_unfinished(ending)
        await asyncio.gather(self._close_caller(ending), self._close_upstream(ending))

    async def _bill_unfinished(self, ending: Ending) -> None:
        """A response cut off by the ending is still billed: when the upstream is open it is
        cancelled there and its response.done (with usage) awaited briefly, else what passed
        is counted."""
        if not self.inspector.in_progress:
            return
        if ending.to_upstream is not None:
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await self.upstream.send(CANCEL)
                async with asyncio.timeout(CANCEL_WAIT):
                    while self.inspector.in_progress:
                        turn = self.inspector.server_frame(await self.upstream.recv())
                        if turn is not None:
                            await self.bill(turn)
        turn = self.inspector.unfinished()
        if turn is not None:
            await self.bill(turn)

    async def _close_upstream(self, ending: Ending) -> None:
        if ending.to_upstream is not None:
            await self.upstream.close(ending.to_upstream.code, ending.to_upstream.reason)

    async def _close_caller(self, ending: Ending) -> None:
        if ending.to_caller is None:
            return
        if ending.caller_event is not None:
            await self.caller.send(ending.caller_event)
        await self.caller.close(ending.to_caller.code, ending.to_caller.reason)
        # Wait for the caller's close frame before the handler returns: Hypercorn closes the
        # socket then, and a caller still streaming audio would get a TCP reset that can
        # destroy the error event and close frame before it read them.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                while not isinstance(await self.caller.receive(), CallerClosed):
                    pass  # frames sent after our close are dropped
