"""Many sessions through one server at once: nothing lost, nothing mixed up, all billed."""

from __future__ import annotations

import asyncio

import orjson

from bench.fakes import Scenario
from tests.realtime.conftest import Realtime, events_until, send
from tests.relay.conftest import all_logs, poll

SESSIONS = 200


async def test_200_concurrent_sessions_without_loss(rt: Realtime) -> None:
    model = "gpt-realtime-many"
    await rt.price(model, 1)
    await rt.channel(key="sk-many-up", models=model, name="many")
    rt.fake.channel("sk-many-up", Scenario(text="a reply in five parts", chunks=5))
    key = await rt.key(name="many app")
    start = asyncio.Event()

    async def one(index: int) -> tuple[str, bytes]:
        # 200 handshakes at once on a loaded 2-core CI box: more than websockets' default 10 s.
        ws = await rt.connect(key, model, open_timeout=60)
        try:
            assert orjson.loads(await ws.recv())["type"] == "session.created"
            await start.wait()
            marker = f"session {index}".encode() * 100
            await ws.send(marker)
            echoed = await ws.recv()
            await send(ws, "response.create")
            events = await events_until(ws, "response.done")
            text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
            assert echoed == marker  # this session's own frame, not another's
            return text, echoed
        finally:
            await ws.close()

    tasks = [asyncio.ensure_future(one(i)) for i in range(SESSIONS)]

    async def opened() -> int:
        return rt.fake.realtime.open_sessions

    await poll(opened, lambda count: count >= SESSIONS or any(t.done() for t in tasks), 90)
    failed = [t.exception() for t in tasks if t.done() and t.exception() is not None]
    assert not failed, failed[:3]
    assert rt.fake.realtime.open_sessions == SESSIONS  # all open at the same time
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), 120)
    assert [text for text, _ in results] == ["a reply in five parts"] * SESSIONS
    logs = await all_logs(rt, SESSIONS, token_name="many app")
    assert len(logs) == SESSIONS
    assert len({log["request_id"] for log in logs}) == SESSIONS
