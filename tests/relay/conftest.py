"""A gateway with channels pointing at the shared fake providers, and SDK callers for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from openai import AsyncOpenAI

from bench.fakes import FakeProviders
from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root


@dataclass
class Relay:
    gateway: Gateway
    root: ApiClient
    fake: FakeProviders

    async def channel(self, **fields: Any) -> int:
        body = {
            "type": 1,
            "name": "c",
            "key": "sk-up",
            "models": "gpt-4o-mini",
            "group": "default",
            "base_url": self.fake.url,
            **fields,
        }
        reply = await self.root.post("/api/channel/", {"mode": "single", "channel": body})
        assert reply.success, reply.body
        return int(reply.data[0])

    async def key(self, **fields: Any) -> str:
        reply = await self.root.post(
            "/api/token/", {"name": "app", "unlimited_quota": True, **fields}
        )
        assert reply.success, reply.body
        return "sk-" + reply.data["key"]

    def openai(self, key: str) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=self.gateway.url + "/v1", api_key=key, max_retries=0)

    async def option(self, key: str, value: Any) -> None:
        reply = await self.root.put("/api/option/", {"key": key, "value": value})
        assert reply.success, reply.body

    async def logs(self, count: int, **params: Any) -> list[dict[str, Any]]:
        """Consume logs, waiting for the batched writer to have flushed ``count`` of them."""
        return await poll(lambda: self._logs(params), lambda rows: len(rows) >= count)

    async def _logs(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        reply = await self.root.get("/api/log/", params={"type": 2, "page_size": 100, **params})
        assert reply.success, reply.body
        return list(reply.data["items"])


async def poll(
    fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], seconds: float = 10.0
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        value = await fetch()
        if done(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.1)


@pytest.fixture
async def relay(start_gateway: StartGateway) -> AsyncIterator[Relay]:
    async with FakeProviders.start() as fake:
        gateway = await start_gateway(BATCH_UPDATE_INTERVAL="1")
        root = await setup_root(gateway.url)
        try:
            yield Relay(gateway, root, fake)
        finally:
            await root.close()
