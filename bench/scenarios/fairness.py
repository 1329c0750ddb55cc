"""Fairness: weighted picks inside a tier, lower tiers left alone, failover in tier order.

Picks go through the relay's own selection code (:func:`newapi.routing.select.pick` over a
:class:`newapi.routing.RoutingIndex` built from the bench's channels); real requests are counted
where they arrive, at the upstream, per channel key.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import aiohttp

from bench import loadgen, plan, stats
from bench.context import Bench
from newapi.routing import ChannelSnapshot, RoutingIndex
from newapi.routing.select import pick

SCENARIO = "fairness"
MIN_P_VALUE = 0.001


def _index() -> tuple[RoutingIndex, dict[int, str]]:
    snapshots = []
    keys: dict[int, str] = {}
    for channel_id, spec in enumerate(plan.channels(), start=1):
        keys[channel_id] = spec.key
        snapshots.append(
            ChannelSnapshot(
                id=channel_id,
                type=1,
                name=spec.name,
                status=1,
                groups=("default",),
                models=(spec.model,),
                priority=spec.priority,
                weight=spec.weight,
            )
        )
    return RoutingIndex.build(snapshots), keys


def picks(count: int) -> Counter[str]:
    """``count`` first-attempt picks for the fairness model, by channel key."""
    index, keys = _index()
    tiers = index.tiers("default", plan.FAIR_MODEL)
    chosen: Counter[str] = Counter()
    for _ in range(count):
        channel_id = pick(tiers, (), random.randrange)
        chosen[keys[channel_id] if channel_id is not None else "none"] += 1
    return chosen


def _judge(bench: Bench, label: str, counts: dict[str, int]) -> dict[str, Any]:
    statistic, p_value = stats.chi_square(counts, plan.FAIR_WEIGHTS)
    deviation = stats.largest_share_deviation(counts, plan.FAIR_WEIGHTS)
    total = sum(counts.get(key, 0) for key in plan.FAIR_WEIGHTS)
    lower = counts.get(plan.FAIR_LOWER_KEY, 0)
    report = bench.report
    report.figure(SCENARIO, f"{label}: chi-square p-value", "p", "> 0.001").newapi = p_value
    report.figure(SCENARIO, f"{label}: largest share deviation", "%").newapi = deviation * 100
    report.check(
        f"{SCENARIO} {label}: shares follow weights 1:2:7, lower tier unused",
        p_value > MIN_P_VALUE and lower == 0 and total > 0,
        f"{total} picks {dict(counts)}, chi2={statistic:.2f}, p={p_value:.3f}, "
        f"largest deviation {deviation * 100:.2f} points, lower tier {lower}",
    )
    return {"counts": counts, "chi2": statistic, "p_value": p_value, "deviation": deviation}


async def run(bench: Bench) -> None:
    sizes = bench.sizes
    details: dict[str, Any] = {}
    async with bench.progress.step(f"fairness: {sizes.fair_picks:,} picks"):
        details["picks"] = _judge(bench, "selection", dict(picks(sizes.fair_picks)))
    await bench.reset_upstream()
    gateway = bench.targets(plan.CHAT_KEY)[-1]
    spec = loadgen.Spec(
        url=gateway.chat_url,
        key=gateway.key,
        body={**plan.CHAT_BODY, "model": plan.FAIR_MODEL},
        concurrency=50,
        total=sizes.fair_requests,
    )
    async with bench.progress.step(f"fairness: {sizes.fair_requests:,} requests"):
        result = await loadgen.run(spec, sizes.client_processes)
    counts, _ = await bench.upstream_counts()
    details["requests"] = _judge(bench, "end to end", counts)
    bench.report.check(
        f"{SCENARIO} end to end: no errors",
        result.errors == 0 and result.ok == sizes.fair_requests,
        f"{result.ok} ok, {result.errors} errors {result.error_kinds or ''}".strip(),
    )
    details["failover"] = await failover(bench)
    bench.report.details[SCENARIO] = details


async def failover(bench: Bench) -> dict[str, Any]:
    """Sequential requests while the top two tiers fail: each must walk the tiers in order."""
    count = bench.sizes.failover_requests
    await bench.reset_upstream()
    gateway = bench.targets(plan.CHAT_KEY)[-1]
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {gateway.key}"}
    body = {**plan.CHAT_BODY, "model": plan.FAILOVER_MODEL}
    async with bench.progress.step(f"failover: {count} requests"), aiohttp.ClientSession() as http:
        for _ in range(count):
            async with http.post(gateway.chat_url, json=body, headers=headers) as resp:
                await resp.read()
                statuses[resp.status] += 1
    _, order = await bench.upstream_counts()
    expected = list(plan.FAILOVER_TIERS) * count
    in_order = order == expected
    bench.report.check(
        f"{SCENARIO}: failover walks the tiers in priority order",
        in_order and statuses == Counter({200: count}),
        f"{count} requests, statuses {dict(statuses)}, "
        f"upstream order {'as expected' if in_order else 'differs'} ({len(order)} attempts)",
    )
    by_status = {str(status): count for status, count in statuses.items()}
    return {"statuses": by_status, "attempts": len(order), "in_order": in_order}
