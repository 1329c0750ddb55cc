"""The price table's admin routes over real HTTP: reset into the options, update from a URL
(a local server serving genai-prices' format: nothing here reaches the internet), the view."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import StartGateway
from tests.support.gateway import ApiClient, Gateway, setup_root
from tests.support.prices import packaged_prices

# genai-prices' published data format (a JSON array of providers), one made-up model.
PRICE_DATA = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "model_match": {"starts_with": "gpt-"},
        "models": [
            {
                "id": "gpt-test-9",
                "match": {"equals": "gpt-test-9"},
                "prices": {"input_mtok": 3, "output_mtok": 12, "cache_read_mtok": 0.3},
            }
        ],
    }
]


def add_channel(gateway: Gateway, models: str, channel_type: int = 1) -> None:
    with closing(sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)) as conn, conn:
        conn.execute(
            'INSERT INTO channels (type, key, status, name, models, "group")'
            " VALUES (?, 'sk-secret', 1, 'c', ?, 'default')",
            (channel_type, models),
        )


async def ratio_maps(root: ApiClient) -> dict[str, dict[str, Any]]:
    reply = await root.get("/api/option/")
    values = {item["key"]: item["value"] for item in reply.data}
    return {key: json.loads(values[key]) for key in ("ModelRatio", "CompletionRatio", "CacheRatio")}


@pytest.fixture
async def price_server() -> AsyncIterator[str]:
    async def data(_: web.Request) -> web.Response:
        return web.json_response(PRICE_DATA)

    async def broken(_: web.Request) -> web.Response:
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/data.json", data)
    app.router.add_get("/broken.json", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_pricing_and_the_view_show_table_prices(
    gateway: Gateway, root: ApiClient, anon: ApiClient
) -> None:
    add_channel(gateway, "claude-opus-4-8,tts-1,my-private-model", channel_type=14)
    opus = packaged_prices().lookup("claude-opus-4-8")
    assert opus is not None
    rows = {row["model_name"]: row for row in (await anon.get("/api/pricing")).body["data"]}
    assert rows["claude-opus-4-8"]["model_ratio"] == opus.model_ratio
    assert rows["claude-opus-4-8"]["completion_ratio"] == opus.completion_ratio
    assert rows["claude-opus-4-8"]["cache_ratio"] == opus.cache_ratio
    sources = {name: row["price_source"] for name, row in rows.items()}
    assert sources == {"claude-opus-4-8": "table", "tts-1": "default", "my-private-model": None}
    view = await root.get("/api/option/price_table")
    assert view.success and view.data["table"]["source"] == "packaged"
    assert view.data["update_url"].startswith("https://")  # genai-prices' own by default
    shown = {row["model_name"]: row for row in view.data["models"]}
    assert shown["claude-opus-4-8"]["table_model"] == "claude-opus-4-8"
    assert shown["claude-opus-4-8"]["table_provider"] == "anthropic"
    assert (await anon.get("/api/option/price_table")).status == 401


async def test_reset_writes_the_table_into_the_ratio_options(
    gateway: Gateway, root: ApiClient, anon: ApiClient
) -> None:
    add_channel(gateway, "grok-4")
    put = await root.put("/api/option/", {"key": "ModelRatio", "value": {"mine": 3, "grok-4": 99}})
    assert put.success
    assert not (await anon.post("/api/option/rest_model_ratio")).success
    reply = await root.post("/api/option/rest_model_ratio")
    assert reply.success and reply.data["models"] > 100, reply.body
    maps = await ratio_maps(root)
    table = packaged_prices()
    for model in ("grok-4", "claude-opus-4-8", "gpt-5.5", "gemini-3-pro-preview"):
        found = table.lookup(model)
        assert found is not None
        assert maps["ModelRatio"][model] == found.model_ratio
        assert maps["CompletionRatio"][model] == found.completion_ratio
    assert maps["ModelRatio"]["mine"] == 3  # not in the table: kept
    assert "deepseek-chat" not in maps["ModelRatio"]  # hourly prices stay live
    # now an option: an admin's edit wins over the table
    rows = {row["model_name"]: row for row in (await anon.get("/api/pricing")).body["data"]}
    assert rows["grok-4"]["price_source"] == "option"


async def test_update_pulls_prices_from_the_configured_url(
    start_gateway: StartGateway, price_server: str
) -> None:
    gateway = await start_gateway()
    root = await setup_root(gateway.url)
    try:
        url = f"{price_server}/data.json"
        option = {"key": "PriceTableUpdateURL", "value": url}
        assert (await root.put("/api/option/", option)).success
        reply = await root.post("/api/option/price_table/update")
        assert reply.success, reply.body
        assert (reply.data["source"], reply.data["providers"], reply.data["models"]) == (url, 1, 1)
        assert reply.data["written"] == 1
        maps = await ratio_maps(root)
        # $3 in, $12 out, $0.30 cached: ratio 1.5, completion 4, cache 0.1
        assert maps["ModelRatio"]["gpt-test-9"] == 1.5
        assert maps["CompletionRatio"]["gpt-test-9"] == 4
        assert maps["CacheRatio"]["gpt-test-9"] == pytest.approx(0.1)
        view = await root.get("/api/option/price_table")
        assert view.data["table"]["source"] == url and view.data["update_url"] == url
    finally:
        await root.close()


async def test_update_fails_clearly_and_keeps_the_table(
    start_gateway: StartGateway, price_server: str
) -> None:
    gateway = await start_gateway()
    root = await setup_root(gateway.url)
    try:
        offline = f"http://127.0.0.1:{closed_port()}/data.json"
        reply = await root.post("/api/option/price_table/update", {"url": offline})
        assert not reply.success
        assert reply.message.startswith(f"could not fetch price data from {offline}")
        broken = f"{price_server}/broken.json"
        reply = await root.post("/api/option/price_table/update", {"url": broken})
        assert not reply.success and "did not answer genai-prices data" in reply.message
        reply = await root.post("/api/option/price_table/update", {"url": "file:///etc/passwd"})
        assert not reply.success and "http" in reply.message
        view = await root.get("/api/option/price_table")
        assert view.data["table"]["source"] == "packaged"
    finally:
        await root.close()
