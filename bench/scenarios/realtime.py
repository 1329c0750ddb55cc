"""Realtime: the per-frame latency newapi adds to websocket sessions, and idle sessions held.

- **Frame latency**: ``N`` sessions (100) each send a 6,400-byte binary frame (200 ms of 16 kHz
  PCM16 audio) every 50 ms; the fake upstream echoes binary frames, so every round trip crosses
  the gateway twice. The figure is the round trip p50/p99, direct and through newapi, and the
  latency added per frame and direction, ``(newapi - direct) / 2``.
- **Idle sessions**: ``M`` sessions opened through newapi (each with its upstream session) and
  held, then every one is pinged; zero errors to hold, and newapi's RSS per session.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench import plan, procs, stats
from bench.context import Bench, Target

SCENARIO = "realtime"
FRAME_BYTES = 6_400
FRAME_INTERVAL = 0.05
OPEN_BATCH = 50  # sessions opened at once while ramping up the idle level
_MB = 1024 * 1024


@dataclass
class FrameRun:
    round_trips: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, error: BaseException) -> None:
        self.errors += 1
        name = type(error).__name__
        self.kinds[name] = self.kinds.get(name, 0) + 1


def ws_url(target: Target) -> str:
    return target.url.replace("http://", "ws://", 1) + f"/v1/realtime?model={plan.REALTIME_MODEL}"


async def _open(target: Target) -> ClientConnection:
    ws = await connect(
        ws_url(target),
        additional_headers={"Authorization": f"Bearer {target.key}"},
        compression=None,
        max_size=None,
        open_timeout=30,
    )
    await ws.recv()  # session.created
    return ws


async def _session(target: Target, seconds: float, run: FrameRun, start_in: float) -> None:
    payload = os.urandom(FRAME_BYTES)
    await asyncio.sleep(start_in)
    try:
        async with await _open(target) as ws:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while loop.time() < deadline:
                sent = time.perf_counter()
                await ws.send(payload)
                while True:  # the echo (text events from upstream are not expected here)
                    reply = await asyncio.wait_for(ws.recv(), 10)
                    if isinstance(reply, bytes):
                        break
                run.round_trips.append(time.perf_counter() - sent)
                await asyncio.sleep(max(0.0, FRAME_INTERVAL - (time.perf_counter() - sent)))
    except Exception as error:  # a bench counts every failure kind instead of stopping
        run.fail(error)


async def frame_latency(target: Target, sessions: int, seconds: float) -> FrameRun:
    run = FrameRun()
    # Starts spread over one frame interval, so the frames of the sessions interleave.
    await asyncio.gather(
        *(
            _session(target, seconds, run, FRAME_INTERVAL * index / sessions)
            for index in range(sessions)
        )
    )
    return run


async def idle_sessions(target: Target, count: int, hold: float) -> tuple[int, int]:
    """Open ``count`` sessions, hold them ``hold`` seconds, ping each: (held, errors)."""
    opened: list[ClientConnection] = []
    errors = 0
    try:
        for start in range(0, count, OPEN_BATCH):
            batch = await asyncio.gather(
                *(_open(target) for _ in range(min(OPEN_BATCH, count - start))),
                return_exceptions=True,
            )
            for ws in batch:
                if isinstance(ws, BaseException):
                    errors += 1
                else:
                    opened.append(ws)
        await asyncio.sleep(hold)
        pings = await asyncio.gather(*(_ping(ws) for ws in opened), return_exceptions=True)
        failed = sum(isinstance(p, BaseException) for p in pings)
        return len(opened) - failed, errors + failed
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def _ping(ws: ClientConnection) -> None:
    pong = await ws.ping()
    await asyncio.wait_for(pong, 10)


async def run(bench: Bench) -> None:
    sizes = bench.sizes
    targets = [t for t in bench.targets(plan.REALTIME_KEY) if t.name != "nginx"]
    details: dict[str, Any] = {}
    for sessions in sizes.realtime_sessions:
        details[f"sessions_{sessions}"] = await _latency(bench, targets, sessions)
    await _idle(bench, targets[-1], details)
    bench.report.details[SCENARIO] = details


async def _latency(bench: Bench, targets: list[Target], sessions: int) -> dict[str, Any]:
    report, seconds = bench.report, bench.sizes.realtime_seconds
    runs: dict[str, FrameRun] = {}
    for target in targets:
        async with bench.progress.step(f"realtime {sessions} sessions {target.name}", seconds):
            runs[target.name] = await frame_latency(target, sessions, seconds)
    step = f"{SCENARIO} {sessions} sessions"
    p50 = report.figure(step, "frame round trip p50", "ms")
    p99 = report.figure(step, "frame round trip p99", "ms")
    frames = report.figure(step, "frames", "count")
    details: dict[str, Any] = {}
    for name, result in runs.items():
        low, high = stats.p50_p99(result.round_trips)
        setattr(p50, name, None if low is None else low * 1000)
        setattr(p99, name, None if high is None else high * 1000)
        setattr(frames, name, float(len(result.round_trips)))
        details[name] = {"frames": len(result.round_trips), "errors": result.errors}
        details[name]["error_kinds"] = result.kinds
    # A round trip crosses newapi twice: half the added time is one frame's, one way.
    target = "≤ 1 ms at 100 sessions" if sessions >= 100 else ""
    one_way_p50 = report.figure(step, "added per frame, one way, p50", "ms")
    one_way_p50.newapi = None if p50.added is None else p50.added / 2
    one_way_p99 = report.figure(step, "added per frame, one way, p99", "ms", target)
    one_way_p99.newapi = None if p99.added is None else p99.added / 2
    gateway = runs["newapi"]
    report.check(
        f"{step}: every frame echoed through newapi, no errors",
        gateway.errors == 0 and len(gateway.round_trips) > 0,
        f"{len(gateway.round_trips)} frames, {gateway.errors} errors",
    )
    return details


async def _idle(bench: Bench, gateway: Target, details: dict[str, Any]) -> None:
    count, report = bench.sizes.realtime_idle, bench.report
    before = procs.rss_bytes(bench.gateway.pid)
    async with bench.progress.step(f"realtime {count} idle sessions newapi", 10.0):
        peak = 0
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, procs.rss_bytes(bench.gateway.pid))
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        try:
            held, errors = await idle_sessions(gateway, count, hold=2.0)
        finally:
            stop.set()
            await sampler
    step = f"{SCENARIO} idle sessions"
    sessions = report.figure(step, "idle sessions held", "count", "1,000 with no errors")
    sessions.newapi = float(held)
    per = report.figure(step, "newapi RSS per session", "KB", "stated")
    per.newapi = (peak - before) / max(held, 1) / 1024
    details["idle"] = {
        "asked": count,
        "held": held,
        "errors": errors,
        "rss_before_mb": before / _MB,
        "rss_peak_mb": peak / _MB,
    }
    report.check(
        f"{step}: {count} sessions held with no errors",
        held == count and errors == 0,
        f"{held} held, {errors} errors",
    )
