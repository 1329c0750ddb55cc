"""Status, first run, registration switch, size and rate limits, and what the server logs."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.conftest import StartGateway
from tests.support.gateway import ROOT_PASSWORD, ApiClient, Gateway, setup_root


async def test_status_is_public_and_reports_setup(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    anon = ApiClient(gateway.url)
    try:
        before = await anon.get("/api/status")
        assert before.success and before.data["setup"] is False
        assert before.data["quota_per_unit"] == 500000
        assert (await anon.get("/api/setup")).data["root_init"] is False
        # No built-in default account exists before setup.
        assert not (await anon.login("root", "123456")).success
        short = await anon.post(
            "/api/setup", {"username": "root", "password": "short", "confirmPassword": "short"}
        )
        assert not short.success and "8" in short.message
        differ = await anon.post(
            "/api/setup",
            {"username": "root", "password": "12345678", "confirmPassword": "87654321"},
        )
        assert not differ.success
        root = await setup_root(gateway.url)
        await root.close()
        assert (await anon.get("/api/status")).data["setup"] is True
    finally:
        await anon.close()


async def test_unknown_route_and_oversize_body(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(MAX_REQUEST_BODY_MB="1")
    root = await setup_root(gateway.url)
    try:
        missing = await root.get("/api/definitely-not-here")
        assert missing.status == 404 and missing.body["success"] is False
        big = await root.post("/api/token/", {"name": "x", "model_limits": "m" * (2 << 20)})
        assert big.status == 413 and big.body["success"] is False
        assert "too large" in big.body["message"]
    finally:
        await root.close()


async def test_login_rate_limit(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(CRITICAL_RATE_LIMIT="3", CRITICAL_RATE_LIMIT_DURATION="60")
    anon = ApiClient(gateway.url)
    try:
        replies = [await anon.login("nobody", "wrong-password") for _ in range(4)]
        assert [r.status for r in replies] == [200, 200, 200, 429]
        assert replies[-1].body["success"] is False and "too many" in replies[-1].message
        assert replies[-1].headers["Retry-After"] == "60"
    finally:
        await anon.close()


async def test_global_api_rate_limit(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(
        GLOBAL_API_RATE_LIMIT_ENABLE="true",
        GLOBAL_API_RATE_LIMIT="5",
        GLOBAL_API_RATE_LIMIT_DURATION="60",
    )
    anon = ApiClient(gateway.url)
    try:
        statuses = [(await anon.get("/api/status")).status for _ in range(6)]
        # The harness's readiness probe was the window's first request.
        assert statuses == [200] * 4 + [429] * 2
    finally:
        await anon.close()


async def _poll(check, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_registration_switch_from_options(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(SYNC_FREQUENCY="1")
    anon = ApiClient(gateway.url)
    try:
        ok = await anon.post("/api/user/register", {"username": "alice", "password": "alice-pass"})
        assert ok.success, ok.body
        assert (await anon.login("alice", "alice-pass")).success
        dup = await anon.post("/api/user/register", {"username": "alice", "password": "x" * 8})
        assert not dup.success
        # An option row written by any node is picked up within SYNC_FREQUENCY.
        with sqlite3.connect(gateway.workdir / "one-api.db") as db:
            db.execute("INSERT INTO options(key, value) VALUES ('RegisterEnabled', 'false')")

        async def closed() -> bool:
            status = await anon.get("/api/status")
            return status.data["register_enabled"] is False

        assert await _poll(closed)
        refused = await anon.post("/api/user/register", {"username": "bob", "password": "b" * 8})
        assert not refused.success and "closed" in refused.message
    finally:
        await anon.close()


async def test_secrets_never_reach_the_log(start_gateway: StartGateway) -> None:
    gateway: Gateway = await start_gateway(DEBUG="true")
    root = await setup_root(gateway.url)
    try:
        access = (await root.get("/api/user/token")).data
        key = (await root.post("/api/token/", {"name": "secret"})).data["key"]
        await root.post("/api/token/", {"name": "x" * 99})  # a rejected request
        await root.request(
            "POST", "/api/token/", data=b"{broken", headers={"Content-Type": "application/json"}
        )
    finally:
        await root.close()
    await gateway.stop()
    text = gateway.log_text()
    for secret in (ROOT_PASSWORD, access, key):
        assert secret not in text
    assert "Traceback" not in text


async def test_generate_default_token_on_register(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(GENERATE_DEFAULT_TOKEN="true")
    anon = ApiClient(gateway.url)
    try:
        assert (
            await anon.post("/api/user/register", {"username": "dora", "password": "dora-pass"})
        ).success
        assert (await anon.login("dora", "dora-pass")).success
        tokens = (await anon.get("/api/token/")).data["items"]
        assert len(tokens) == 1 and tokens[0]["unlimited_quota"] is True
    finally:
        await anon.close()


async def test_huge_path_ids_are_not_found(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    root = await setup_root(gateway.url)
    try:
        for path in (
            "/api/token/99999999999999999999999",
            "/api/channel/99999999999999999999",
            "/api/user/99999999999999999999999",
            "/api/redemption/9999999999999999999",
        ):
            reply = await root.get(path)
            assert reply.status in (200, 404) and reply.body["success"] is False, path
    finally:
        await root.close()
    assert "Traceback" not in gateway.log_text()


async def test_search_rate_limit(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(
        SEARCH_RATE_LIMIT_ENABLE="true", SEARCH_RATE_LIMIT="2", SEARCH_RATE_LIMIT_DURATION="60"
    )
    root = await setup_root(gateway.url)
    try:
        statuses = [
            (await root.get("/api/token/search", params={"keyword": "x"})).status for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        # Listing is not a search and stays available.
        assert (await root.get("/api/token/")).status == 200
    finally:
        await root.close()
