"""Scheduled channel tests: CHANNEL_TEST_FREQUENCY or the monitor_setting options."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.fakes import Scenario
from tests.relay.conftest import Relay, StartRelay, poll


async def channel_row(relay: Relay, channel_id: int) -> dict[str, Any]:
    reply = await relay.root.get(f"/api/channel/{channel_id}")
    assert reply.success, reply.body
    return dict(reply.data)


async def test_env_schedule_tests_disables_and_re_enables(start_relay: StartRelay) -> None:
    relay = await start_relay(CHANNEL_TEST_FREQUENCY="0.05")  # every 3 s
    await relay.option("AutomaticDisableChannelEnabled", True)
    await relay.option("AutomaticEnableChannelEnabled", True)
    healthy = await relay.channel(name="ok", key="sk-probe-ok")
    broken = await relay.channel(name="bad", key="sk-probe-fail-401")
    skipped = await relay.channel(
        name="skip", key="sk-probe-skip", setting='{"skip_auto_test": true}'
    )
    by_hand = await relay.channel(name="off", key="sk-probe-off", status=2)
    probes = await poll(
        lambda: asyncio.sleep(0, relay.fake.requests_for("sk-probe-ok")),
        lambda rows: len(rows) >= 2,
        seconds=15,
    )
    assert len(probes) >= 2 and probes[0].json["messages"][0]["content"] == "Say hi."
    assert (await channel_row(relay, broken))["status"] == 3  # auto-disabled, no traffic needed
    assert (await channel_row(relay, healthy))["test_time"] > 0
    assert relay.fake.requests_for("sk-probe-skip") == []
    assert relay.fake.requests_for("sk-probe-off") == []
    assert (await channel_row(relay, skipped))["status"] == 1
    assert (await channel_row(relay, by_hand))["status"] == 2
    # The upstream recovers: the next scheduled test re-enables the channel.
    relay.fake.channel("sk-probe-fail-401", Scenario())  # the magic failure no longer applies
    status = await poll(lambda: _status(relay, broken), lambda s: s == 1, seconds=15)
    assert status == 1


async def _status(relay: Relay, channel_id: int) -> int:
    return int((await channel_row(relay, channel_id))["status"])


async def test_options_turn_the_schedule_on_and_off(relay: Relay) -> None:
    await relay.channel(key="sk-probe-ok")
    await asyncio.sleep(3)
    assert relay.fake.requests == []  # off by default
    await relay.option("monitor_setting.auto_test_channel_minutes", 0.03)
    await relay.option("monitor_setting.auto_test_channel_enabled", True)
    await poll(lambda: asyncio.sleep(0, relay.fake.requests), lambda rows: len(rows) >= 1)
    assert len(relay.fake.requests) >= 1
    await relay.option("monitor_setting.auto_test_channel_enabled", False)
    await asyncio.sleep(0.5)
    seen = len(relay.fake.requests)
    await asyncio.sleep(4)
    assert len(relay.fake.requests) == seen
