"""The Quart websocket seam: bounded inbound frames, and the caller's close after its frames."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart

from newapi.realtime.connection import INBOUND_FRAMES, BridgeWebsocketConnection, CallerClosed


def connection() -> BridgeWebsocketConnection:
    scope: dict[str, Any] = {
        "type": "websocket",
        "path": "/v1/realtime",
        "query_string": b"",
        "headers": [],
        "scheme": "ws",
        "subprotocols": [],
    }
    return BridgeWebsocketConnection(Quart(__name__), scope)  # type: ignore[arg-type]


async def test_reading_stops_at_the_bound_until_the_bridge_reads() -> None:
    conn = connection()
    delivered = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        delivered += 1
        if delivered > 200:
            return {"type": "websocket.disconnect", "code": 4003, "reason": "bye"}
        return {"type": "websocket.receive", "bytes": b"frame-%d" % delivered}

    reader = asyncio.ensure_future(conn.handle_messages(receive))
    await asyncio.sleep(0.05)
    assert not reader.done()
    assert delivered == INBOUND_FRAMES + 1  # one more was taken and waits for room
    received = [await conn._next_frame() for _ in range(200)]
    assert received == [b"frame-%d" % n for n in range(1, 201)]  # order kept, nothing lost
    assert await conn._next_frame() == CallerClosed(4003, "bye")  # after every frame
    await asyncio.wait_for(reader, 1)


async def test_text_frames_and_a_close_without_code() -> None:
    conn = connection()
    events = iter(
        [
            {"type": "websocket.receive", "text": '{"type":"x"}', "bytes": None},
            {"type": "websocket.receive", "bytes": b"", "text": None},
            {"type": "websocket.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(events)

    await conn.handle_messages(receive)
    assert await conn._next_frame() == '{"type":"x"}'
    assert await conn._next_frame() == b""  # an empty binary frame stays binary
    assert await conn._next_frame() == CallerClosed(1005)
