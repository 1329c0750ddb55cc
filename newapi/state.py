"""Everything the app holds for its lifetime, made in the lifespan and reached through the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from quart import Quart, current_app

from newapi.cache.base import Cache
from newapi.cache.entities import EntityCache
from newapi.config import Settings
from newapi.store.channels import ChannelCache
from newapi.store.options import OptionStore

log = logging.getLogger(__name__)
EXTENSION = "newapi"


@dataclass(slots=True)
class AppState:
    settings: Settings
    cache: Cache
    entities: EntityCache
    options: OptionStore
    started_at: int
    channels: ChannelCache = field(default_factory=ChannelCache)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

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
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def app_state(app: Quart | None = None) -> AppState:
    target = app if app is not None else current_app
    return target.extensions[EXTENSION]
