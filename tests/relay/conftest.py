"""A gateway with channels pointing at the shared fake providers, and SDK callers for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import typedefs as web_types
from aiohttp import web
from openai import AsyncOpenAI

from bench.fakes import FakeProviders
from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root


@dataclass
class Relay:
    gateway: Gateway
    root: ApiClient
    fake: FakeProviders
    clients: list[AsyncOpenAI] = field(default_factory=list)  # closed by the fixture

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
        # A hung request fails the test in a minute instead of the SDK's ten.
        client = AsyncOpenAI(
            base_url=self.gateway.url + "/v1", api_key=key, max_retries=0, timeout=60
        )
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.root.close()

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
        relay = Relay(gateway, root, fake)
        try:
            yield relay
        finally:
            await relay.close()


# ---- helpers for the failover, Azure, quota and disconnect tests -------------------------------


@dataclass(frozen=True, slots=True)
class Handled:
    """One request the fake providers finished handling (monotonic clock of this process)."""

    path: str
    started: float
    ended: float


class WatchedFakes(FakeProviders):
    """The fake providers, also noting when each handler returned (to see a dropped stream)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled: list[Handled] = []

    def application(self) -> web.Application:
        app = super().application()

        @web.middleware
        async def watch(request: web.Request, handler: web_types.Handler) -> web.StreamResponse:
            started = time.monotonic()
            try:
                return await handler(request)
            finally:
                self.handled.append(Handled(request.path, started, time.monotonic()))

        app.middlewares.append(watch)
        return app


StartRelay = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def start_relay(start_gateway: StartGateway) -> AsyncIterator[StartRelay]:
    """Like ``relay`` with extra server env, and fakes that are :class:`WatchedFakes`.

    Call it once per test (the servers of one test share a working directory).
    """
    async with AsyncExitStack() as stack:

        async def start(**env: str) -> Relay:
            fake = await stack.enter_async_context(WatchedFakes.start())
            gateway = await start_gateway(**{"BATCH_UPDATE_INTERVAL": "1", **env})
            relay = Relay(gateway, await setup_root(gateway.url), fake)
            stack.push_async_callback(relay.close)
            return relay

        yield start


async def new_key(client: ApiClient, **fields: Any) -> tuple[int, str]:
    """A key of ``client``'s user: (token id, "sk-..."); unlimited unless ``fields`` say not."""
    reply = await client.post("/api/token/", {"name": "app", "unlimited_quota": True, **fields})
    assert reply.success, reply.body
    return int(reply.data["id"]), "sk-" + reply.data["key"]


async def new_user(relay: Relay, username: str, quota: int) -> tuple[int, ApiClient]:
    """A common user holding ``quota``, created by root: (user id, a client logged in as it)."""
    password = "user-password-1"
    created = await relay.root.post("/api/user/", {"username": username, "password": password})
    assert created.success, created.body
    found = await relay.root.get("/api/user/search", params={"keyword": username})
    assert found.success, found.body
    (user,) = [u for u in found.data["items"] if u["username"] == username]
    edited = await relay.root.put("/api/user/", {"id": user["id"], "quota": quota})
    assert edited.success, edited.body
    client = ApiClient(relay.gateway.url)
    login = await client.login(username, password)
    assert login.success, login.body
    return int(user["id"]), client


def log_other(log: dict[str, Any]) -> dict[str, Any]:
    """A log row's ``other`` (a JSON string on the wire) as a dict."""
    other = orjson.loads(log["other"] or "{}")
    assert isinstance(other, dict)
    return other


async def all_logs(relay: Relay, count: int, **params: Any) -> list[dict[str, Any]]:
    """Every consume log (all pages), once the batched writer has flushed ``count`` of them."""

    async def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = await relay.root.get(
                "/api/log/", params={"type": 2, "page_size": 100, "p": page, **params}
            )
            assert reply.success, reply.body
            rows += reply.data["items"]
            if len(rows) >= reply.data["total"] or not reply.data["items"]:
                return rows
            page += 1

    return await poll(fetch, lambda rows: len(rows) >= count)
