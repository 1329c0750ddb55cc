"""Streaming chat: added time to first event, gaps between events, and no coalescing.

Every upstream event must leave newapi as its own HTTP chunk: the Python load generator reads
the chunked framing and counts chunks that carry more than one SSE event. :func:`measure` runs
any streaming route this way (the Gemini stream scenario uses it too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import loadgen, plan, stats
from bench.context import Bench, Target
from bench.loadgen import Result

SCENARIO = "stream"


@dataclass(frozen=True, slots=True)
class Streams:
    """One streaming scenario: what each target is called with, how hard and how long."""

    name: str  # the figures' scenario prefix ("stream", "gemini stream")
    upstream_key: str
    body: dict[str, Any]
    url: Callable[[Target], str]
    concurrency: tuple[int, ...]
    seconds: float
    key_header: str = "Authorization"
    nginx: bool = True  # also measure the nginx floor (when nginx runs)

    @property
    def details_key(self) -> str:
        return self.name.replace(" ", "_")


def body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


def _ms(samples: list[float]) -> tuple[float | None, float | None]:
    p50, p99 = stats.p50_p99(samples)
    return (None if p50 is None else p50 * 1000, None if p99 is None else p99 * 1000)


async def run(bench: Bench) -> None:
    sizes = bench.sizes
    streams = Streams(
        name=SCENARIO,
        upstream_key=plan.STREAM_KEY,
        body=body(plan.STREAM_MODEL),
        url=lambda target: target.chat_url,
        concurrency=sizes.stream_concurrency,
        seconds=sizes.stream_seconds,
    )
    await measure(bench, streams)


async def measure(bench: Bench, streams: Streams) -> None:
    """Each concurrency level on each target in turn; figures, checks and details."""
    details: dict[str, Any] = {}
    targets = [
        target
        for target in bench.targets(streams.upstream_key)
        if streams.nginx or target.name != "nginx"
    ]
    for concurrency in streams.concurrency:
        results: dict[str, Result] = {}
        cpu_seconds = 0.0
        for target in targets:
            spec = loadgen.Spec(
                url=streams.url(target),
                key=target.key,
                body=streams.body,
                concurrency=concurrency,
                key_header=streams.key_header,
                stream=True,
                seconds=streams.seconds,
                ramp=min(1.0, concurrency / 1000),
            )
            label = f"{streams.name} c={concurrency} {target.name}"
            async with (
                bench.progress.step(label, streams.seconds + 1),
                bench.gateway_cpu(target) as cpu,
            ):
                results[target.name] = await loadgen.run(spec, bench.sizes.client_processes)
            if cpu:
                cpu_seconds = cpu[0]
        details[f"c{concurrency}"] = {name: _summary(r) for name, r in results.items()}
        step = f"{streams.name} c={concurrency}"
        _figures(bench, step, concurrency, results)
        gateway = results["newapi"]
        if gateway.ok:
            per_stream = bench.report.figure(step, "newapi CPU per stream", "ms")
            per_stream.newapi = cpu_seconds / gateway.ok * 1000
            per_event = bench.report.figure(step, "newapi CPU per event", "ms")
            per_event.newapi = cpu_seconds / max(gateway.events, 1) * 1000
    bench.report.details[streams.details_key] = details


def _summary(result: Result) -> dict[str, Any]:
    return {
        "streams": result.ok,
        "errors": result.errors,
        "error_kinds": result.error_kinds,
        "events": result.events,
        "http_chunks": result.http_chunks,
        "coalesced": result.coalesced,
        "ttfb_ms_p50_p99": _ms(result.ttfb),
        "gap_ms_p50_p99": _ms(result.gaps),
        "elapsed": result.elapsed,
    }


def _figures(bench: Bench, step: str, concurrency: int, results: dict[str, Result]) -> None:
    report = bench.report
    p50_target = "added ≤ 2 ms" if concurrency == 1 else ""
    p99_target = "added ≤ 10 ms" if concurrency == 200 else ""
    figures = {
        "ttfb p50": report.figure(step, "first event p50", "ms", p50_target),
        "ttfb p99": report.figure(step, "first event p99", "ms", p99_target),
        "gap p50": report.figure(step, "event gap p50", "ms"),
        "gap p99": report.figure(step, "event gap p99", "ms", "added ≤ 5 ms"),
        "streams/s": report.figure(step, "streams completed", "1/s"),
    }
    for name, result in results.items():
        ttfb, gaps = _ms(result.ttfb), _ms(result.gaps)
        setattr(figures["ttfb p50"], name, ttfb[0])
        setattr(figures["ttfb p99"], name, ttfb[1])
        setattr(figures["gap p50"], name, gaps[0])
        setattr(figures["gap p99"], name, gaps[1])
        rate = result.ok / result.elapsed if result.elapsed else None
        setattr(figures["streams/s"], name, rate)
    gateway, direct = results["newapi"], results["direct"]
    report.check(
        f"{step}: no errors through newapi",
        gateway.errors == 0 and gateway.ok > 0,
        f"{gateway.ok} streams, {gateway.errors} errors {gateway.error_kinds or ''}".strip(),
    )
    per_stream = gateway.events / gateway.ok if gateway.ok else 0
    direct_per_stream = direct.events / direct.ok if direct.ok else 0
    report.check(
        f"{step}: every event leaves as its own HTTP chunk",
        gateway.coalesced == 0 and per_stream >= plan.STREAM_CHUNKS,
        f"{gateway.coalesced} of {gateway.http_chunks} chunks carried >1 event; "
        f"{per_stream:.1f} events per stream (direct {direct_per_stream:.1f})",
    )
