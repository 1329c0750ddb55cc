"""Billing under load: once the batch writer settles, logged quota equals quota taken."""

from __future__ import annotations

from bench import plan
from bench.admin import settled
from bench.context import Bench

SCENARIO = "billing"


async def run(bench: Bench, before: dict[str, int]) -> None:
    async with bench.progress.step("billing: waiting for the usage writer to settle"):
        after = await settled(bench.admin, bench.provisioned.token_id)
    logged = after["log_quota"] - before["log_quota"]
    taken = {
        "user quota": before["user_quota"] - after["user_quota"],
        "user used_quota": after["user_used_quota"] - before["user_used_quota"],
        "key remain_quota": before["key_remain_quota"] - after["key_remain_quota"],
        "key used_quota": after["key_used_quota"] - before["key_used_quota"],
    }
    consistent = logged > 0 and all(value == logged for value in taken.values())
    bench.report.details[SCENARIO] = {"before": before, "after": after, "taken": taken}
    bench.report.figure(SCENARIO, "consume logs", "rows").newapi = float(
        after["log_rows"] - before["log_rows"]
    )
    bench.report.figure(SCENARIO, "logged quota", "quota").newapi = float(logged)
    bench.report.check(
        f"{SCENARIO}: sum of logged quota equals quota taken from key and user",
        consistent and after["key_remain_quota"] + after["key_used_quota"] == plan.KEY_QUOTA,
        f"logged {logged} in {after['log_rows'] - before['log_rows']} rows; taken {taken}",
    )
