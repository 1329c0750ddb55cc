"""Scheduled channel tests on the master node (new-api's auto test), and "test all".

The schedule is ``CHANNEL_TEST_FREQUENCY`` minutes when set, else the options
``monitor_setting.auto_test_channel_enabled`` / ``auto_test_channel_minutes`` (read on every
tick, so a console change applies without a restart). Each run probes every channel not
disabled by hand, one at a time, ``POLLING_INTERVAL`` seconds apart, through
:func:`~newapi.relay.health.test_channel`: failing channels are auto-disabled and passing
auto-disabled ones re-enabled under the usual switches. A channel whose setting has
``skip_auto_test: true`` is left out of scheduled runs (quota-limited upstreams), but not out of
an admin's explicit "test all". Channels of a type this version does not serve are never tested.
"""

from __future__ import annotations

import asyncio
import logging
import time

from newapi.models.channel import CHANNEL_MANUALLY_DISABLED
from newapi.relay.health import test_channel
from newapi.routing.index import ChannelSnapshot
from newapi.state import AppState

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0  # how often the schedule is looked at


def testable(state: AppState, *, scheduled: bool) -> list[ChannelSnapshot]:
    channels = state.channels.index.channels.values()
    return [
        channel
        for channel in sorted(channels, key=lambda c: c.id)
        if channel.status != CHANNEL_MANUALLY_DISABLED
        and channel.served
        and channel.models
        and not (scheduled and channel.setting.get("skip_auto_test") is True)
    ]


async def test_channels(state: AppState, channels: list[ChannelSnapshot]) -> None:
    spacing = state.settings.polling_interval
    for number, channel in enumerate(channels):
        if number and spacing > 0:
            await asyncio.sleep(spacing)
        result = await test_channel(state, channel, channel.test_model or channel.models[0])
        if not result.ok:
            log.info("scheduled test: channel %s failed: %s", channel.id, result.message)


class ChannelMonitor:
    """Decides on each tick whether a scheduled run is due, and runs it in the background."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.last_run = time.monotonic()  # the first run comes one interval after start-up
        self.running = False
        self.runs = 0

    def interval_seconds(self) -> float:
        """0 when scheduled tests are off."""
        settings, options = self.state.settings, self.state.options.current
        if settings.channel_test_frequency > 0:
            return settings.channel_test_frequency * 60
        if not options.bool("monitor_setting.auto_test_channel_enabled"):
            return 0.0
        return max(options.float("monitor_setting.auto_test_channel_minutes"), 0.0) * 60

    async def tick(self) -> None:
        interval = self.interval_seconds()
        now = time.monotonic()
        if interval <= 0 or self.running or now - self.last_run < interval:
            return
        self.last_run, self.running = now, True
        self.state.spawn(self._run(), "channel-auto-test")

    async def _run(self) -> None:
        try:
            await test_channels(self.state, testable(self.state, scheduled=True))
            self.runs += 1
        finally:
            self.running = False
            self.last_run = time.monotonic()
