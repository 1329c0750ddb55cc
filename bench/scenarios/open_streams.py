"""Open streams: the most concurrent 2-second streams held with zero errors, and RSS.

At each level, N callers each run ``rounds`` 2-second streams back to back, their first
requests spread evenly over one stream's length, so N streams are open at any time and N / 2 s
start every second. The ideal run takes ``2 s + rounds * 2 s``; the completion rate is that
ideal over the measured time, and a level holds when it is ≥ 90% with zero errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import loadgen, plan, procs, stats
from bench.context import Bench, sample_rss
from bench.loadgen import Result
from bench.scenarios.stream import body

SCENARIO = "open streams"
MIN_COMPLETION = 0.9
_MB = 1024 * 1024


def _ramp(level: int) -> float:
    return plan.OPEN_STREAM_SECONDS if level > 1 else 0.0


async def _level(bench: Bench, url: str, key: str, level: int) -> tuple[Result, int]:
    spec = loadgen.Spec(
        url=url,
        key=key,
        body=body(plan.OPEN_MODEL),
        concurrency=level,
        stream=True,
        rounds=bench.sizes.open_rounds,
        ramp=_ramp(level),
        timeout=120.0,
    )
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(bench.gateway.pid, stop))
    try:
        result = await loadgen.run(spec, bench.sizes.client_processes)
    finally:
        stop.set()
    return result, await sampler


def completion(result: Result, level: int, rounds: int) -> float:
    """The ideal run time over the measured one (1.0: every stream took exactly 2 s)."""
    ideal = _ramp(level) + rounds * plan.OPEN_STREAM_SECONDS
    return ideal / result.elapsed if result.elapsed else 0.0


async def run(bench: Bench) -> None:
    sizes, report = bench.sizes, bench.report
    idle_rss = procs.rss_bytes(bench.gateway.pid)
    held = 0
    details: dict[str, Any] = {"idle_rss_mb": idle_rss / _MB, "levels": {}}
    direct, gateway = bench.targets(plan.OPEN_KEY)[0], bench.targets(plan.OPEN_KEY)[-1]
    for level in sizes.open_levels:
        expected = _ramp(level) + sizes.open_rounds * plan.OPEN_STREAM_SECONDS
        async with bench.progress.step(f"open streams {level} direct", expected):
            base, _ = await _level(bench, direct.chat_url, direct.key, level)
        async with bench.progress.step(f"open streams {level} newapi", expected):
            result, rss = await _level(bench, gateway.chat_url, gateway.key, level)
        rate, base_rate = (
            completion(result, level, sizes.open_rounds),
            completion(base, level, sizes.open_rounds),
        )
        ok = result.errors == 0 and rate >= MIN_COMPLETION
        details["levels"][str(level)] = {
            "errors": result.errors,
            "error_kinds": result.error_kinds,
            "streams": result.ok,
            "completion": rate,
            "elapsed": result.elapsed,
            "stream_seconds_p50_p99_max": [
                *stats.p50_p99(result.latencies),
                max(result.latencies, default=None),
            ],
            "ttfb_seconds_p50_p99": stats.p50_p99(result.ttfb),
            "direct_completion": base_rate,
            "direct_errors": base.errors,
            "rss_mb": rss / _MB,
            "held": ok,
        }
        step = f"{SCENARIO} {level}"
        figure = report.figure(step, "completion rate", "ratio", "≥ 0.90, zero errors")
        figure.direct, figure.newapi = base_rate, rate
        memory = report.figure(
            step, "newapi RSS", "MB", "≤ 300 MB at 1,000" if level == 1000 else ""
        )
        memory.newapi = rss / _MB
        if not ok:
            break
        held = level
    details["held"] = report_held = held
    bench.report.details[SCENARIO] = details
    figure = report.figure(SCENARIO, "most streams held", "streams", "≥ 2,000")
    figure.newapi = float(report_held)
    first = sizes.open_levels[0]
    report.check(
        f"{SCENARIO}: {first} concurrent 2-s streams, zero errors, ≥ 90% completion",
        held >= first,
        f"held {held}; "
        + ", ".join(
            f"{lvl}: {d['errors']} errors, completion {d['completion']:.2f}"
            for lvl, d in details["levels"].items()
        ),
    )
