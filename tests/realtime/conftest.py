"""A gateway and the fake providers shared by a realtime test module, and websocket helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.fakes import FakeProviders
from tests.relay.conftest import Relay
from tests.support.gateway import Gateway, setup_root

RATIOS = {"gpt-4o-realtime-preview": 2.5, "gpt-realtime": 2, "gpt-realtime-mini": 0.3}


@dataclass
class Realtime(Relay):
    """A relay with realtime helpers; ratios accumulate in ``model_ratio``."""

    model_ratio: dict[str, float] = field(default_factory=lambda: dict(RATIOS))

    @property
    def ws_url(self) -> str:
        return self.gateway.url.replace("http://", "ws://") + "/v1/realtime"

    async def price(self, model: str, ratio: float) -> None:
        self.model_ratio[model] = ratio
        await self.option("ModelRatio", orjson.dumps(self.model_ratio).decode())

    async def connect(
        self,
        key: str,
        model: str,
        *,
        protocols: list[str] | None = None,
        open_timeout: float = 10,
        **params: str,
    ) -> ClientConnection:
        """A raw websockets caller (Bearer auth unless ``protocols`` carry the key)."""
        query = "&".join(f"{k}={v}" for k, v in {"model": model, **params}.items())
        headers = {} if protocols else {"Authorization": f"Bearer {key}"}
        return await connect(
            f"{self.ws_url}?{query}",
            additional_headers=headers,
            subprotocols=[Subprotocol(p) for p in protocols] if protocols else None,
            max_size=None,
            open_timeout=open_timeout,
        )


@pytest.fixture(scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Realtime]:
    async with FakeProviders.start() as fake:
        gateway = Gateway(tmp_path_factory.mktemp("realtime"), {"BATCH_UPDATE_INTERVAL": "1"})
        await gateway.start()
        root = await setup_root(gateway.url)
        try:
            realtime = Realtime(gateway, root, fake)
            await realtime.option("ModelRatio", orjson.dumps(realtime.model_ratio).decode())
            yield realtime
        finally:
            await root.close()
            await gateway.stop()


async def events_until(ws: ClientConnection, last: str) -> list[dict[str, Any]]:
    """Every event received up to and including the first of type ``last``."""
    seen: list[dict[str, Any]] = []
    while True:
        event = orjson.loads(await ws.recv())
        seen.append(event)
        if event["type"] == last:
            return seen


async def send(ws: ClientConnection, kind: str, **fields: Any) -> None:
    await ws.send(orjson.dumps({"type": kind, **fields}).decode())


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]
