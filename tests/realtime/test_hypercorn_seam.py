"""The Hypercorn seam: server pings that stop with the websocket, and no deflate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import orjson

from bench.fakes import FakeProviders
from tests.conftest import StartGateway
from tests.relay.conftest import Relay
from tests.support.gateway import ROOT, setup_root


async def test_server_pings_callers_and_closed_sockets_do_not_hold_shutdown(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    config = tmp_path / "hypercorn.toml"
    text = (ROOT / "hypercorn.toml").read_text()
    # A long interval: Hypercorn pings once at accept, then would sleep 30 s.
    config.write_text(text.replace("websocket_ping_interval = 20", "websocket_ping_interval = 30"))
    async with FakeProviders.start() as fake:
        gateway = await start_gateway(HYPERCORN_CONFIG=str(config))
        root = await setup_root(gateway.url)
        try:
            relay = Relay(gateway, root, fake)
            await relay.option("ModelRatio", orjson.dumps({"gpt-realtime": 2}).decode())
            await relay.channel(key="sk-seam-up", models="gpt-realtime")
            key = await relay.key()
            url = gateway.url + "/v1/realtime?model=gpt-realtime"
            async with aiohttp.ClientSession() as http:
                headers = {"Authorization": f"Bearer {key}"}
                async with http.ws_connect(url, headers=headers, autoping=False) as ws:
                    kinds = [(await ws.receive(timeout=5)).type for _ in range(2)]
                    assert aiohttp.WSMsgType.PING in kinds  # the server pings on its own
                    assert ws.compress == 0  # deflate offered by aiohttp, declined
        finally:
            await root.close()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await gateway.stop()
        # Hypercorn's own ping loop keeps a closed socket's task asleep for the rest of the
        # 30 s, and shutdown waits graceful_timeout (10 s) for it; the seam ends it at close.
        assert time.monotonic() - started < 5
