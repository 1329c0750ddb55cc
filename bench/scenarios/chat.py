"""Non-streaming chat: requests/s, latency p50/p99 and the gateway's CPU per request."""

from __future__ import annotations

from typing import Any

from bench import plan
from bench.context import Bench, LoadResult

SCENARIO = "chat"


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


async def run(bench: Bench) -> None:
    sizes = bench.sizes
    details: dict[str, Any] = {}
    for concurrency in sizes.chat_concurrency:
        results: dict[str, LoadResult] = {}
        for target in bench.targets(plan.CHAT_KEY):
            label = f"chat c={concurrency} {target.name}"
            async with bench.progress.step(label, sizes.seconds):
                results[target.name] = await bench.chat_load(
                    target, plan.CHAT_BODY, concurrency, sizes.seconds
                )
        details[f"c{concurrency}"] = {name: vars(result) for name, result in results.items()}
        _figures(bench, concurrency, results)
    bench.report.details[SCENARIO] = details


def _figures(bench: Bench, concurrency: int, results: dict[str, LoadResult]) -> None:
    report = bench.report
    step = f"{SCENARIO} c={concurrency}"
    targets = {
        "req/s": "≥ 1,500 req/s at c=50" if concurrency == 50 else "",
        "p50": "added ≤ 1 ms at c=1" if concurrency == 1 else "",
    }
    rps = report.figure(step, "throughput", "req/s", targets["req/s"])
    p50 = report.figure(step, "latency p50", "ms", targets["p50"])
    p99 = report.figure(step, "latency p99", "ms")
    errors = report.figure(step, "errors", "count")
    for name, result in results.items():
        setattr(rps, name, result.rps)
        setattr(p50, name, _ms(result.p50))
        setattr(p99, name, _ms(result.p99))
        setattr(errors, name, float(result.errors))
    gateway = results["newapi"]
    if gateway.cpu_seconds is not None and gateway.requests:
        cpu = report.figure(step, "newapi CPU per request", "ms")
        cpu.newapi = gateway.cpu_seconds / gateway.requests * 1000
    report.check(
        f"{step}: no errors through newapi",
        gateway.errors == 0 and gateway.requests > 0,
        f"{gateway.requests} requests, {gateway.errors} errors",
    )
