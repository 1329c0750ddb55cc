"""Everything the app holds for its lifetime, made in the lifespan and reached through the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from quart import Quart, current_app

from newapi.billing.ledger import QuotaLedger
from newapi.billing.writer import UsageWriter
from newapi.cache.base import Cache
from newapi.cache.entities import EntityCache
from newapi.config import Settings
from newapi.errors import ServiceUnavailable
from newapi.relay.affinity import AffinityStore
from newapi.relay.credentials import AccessTokens
from newapi.store.channels import ChannelCache
from newapi.store.options import OptionStore

log = logging.getLogger(__name__)
EXTENSION = "newapi"
CHANNELS, OPTIONS = "channels", "options"  # the topics of AppState.changed


@dataclass(slots=True)
class AppState:
    settings: Settings
    cache: Cache
    entities: EntityCache
    options: OptionStore
    started_at: int
    ledger: QuotaLedger
    writer: UsageWriter
    channels: ChannelCache = field(default_factory=ChannelCache)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    loops: set[asyncio.Task[None]] = field(default_factory=set)
    # The pooled upstream client, made in the lifespan (it needs the running loop).
    http_session: aiohttp.ClientSession | None = None
    # OAuth access tokens minted from service-account channel keys (Vertex AI), per process.
    access_tokens: AccessTokens | None = None
    # Conversation -> channel and key (channel affinity); replaced at start-up once the
    # options tell its size, or by the shared Redis store.
    affinity: AffinityStore = field(default_factory=AffinityStore.in_memory)

    @property
    def http(self) -> aiohttp.ClientSession:
        if self.http_session is None:
            raise RuntimeError("the upstream HTTP pool is not open (outside the app lifespan)")
        return self.http_session

    def spawn(self, work: Coroutine[Any, Any, Any], name: str = "relay-settle") -> None:
        """Run ``work`` in a tracked task that shutdown waits for (never fire-and-forget)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed: %r", task.get_name(), task.exception())

    def every(self, seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Run ``job`` every ``seconds`` until shutdown; a failing run is logged, not fatal."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a periodic job must survive a transient failure
                    log.exception("background job %s failed", name)

        task = asyncio.create_task(loop(), name=name)
        self.loops.add(task)
        task.add_done_callback(self.loops.discard)

    async def changed(self, topic: str) -> None:
        """Shared state an admin wrote: apply it here, then tell the other processes.

        ``topic`` is ``channels`` or ``options``. Without this, other Hypercorn workers and
        nodes would see the change only at their next SYNC_FREQUENCY reload. A failed announce
        is logged: the write is committed and the periodic reload still catches up.
        """
        await self.apply_change(topic)
        try:
            await self.cache.announce(topic)
        except ServiceUnavailable:
            log.warning("could not announce a %s change; other nodes reload on sync", topic)

    async def apply_change(self, topic: str) -> None:
        if topic == CHANNELS:
            await self.channels.refresh_after_write()
        elif topic == OPTIONS:
            await self.options.reload()

    def follow_changes(self) -> None:
        """Apply the changes other processes announce, for the app's lifetime."""

        async def follow() -> None:
            while True:
                try:
                    async for topic in self.cache.changes():
                        await self.apply_change(topic)
                    return  # nothing shared (memory cache): nothing to follow
                except asyncio.CancelledError:
                    raise
                except Exception:  # the cache went away: follow again once it is back
                    log.warning("lost the change feed; following again in 1 s")
                    await asyncio.sleep(1)

        task = asyncio.create_task(follow(), name="change-feed")
        self.loops.add(task)
        task.add_done_callback(self.loops.discard)

    async def stop(self) -> None:
        """Let in-flight work (settlements) finish, then end the periodic loops."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=10)
        for task in list(self.loops):
            task.cancel()
        await asyncio.gather(*self.loops, return_exceptions=True)


def app_state(app: Quart | None = None) -> AppState:
    target = app if app is not None else current_app
    return target.extensions[EXTENSION]
