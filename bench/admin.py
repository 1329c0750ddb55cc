"""Provisioning through newapi's admin API: root user, prices, channels and a key.

Also the reads the billing check needs (logged quota, key and user balances).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from bench import plan

ROOT_USER, ROOT_PASSWORD = "root", "bench-root-password-1"


class AdminError(RuntimeError):
    pass


class Admin:
    """An admin-API caller logged in as root (its own cookie jar)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.user_id = 0
        connector = aiohttp.TCPConnector(ssl=False)
        jar = aiohttp.CookieJar(unsafe=True)
        self.http = aiohttp.ClientSession(cookie_jar=jar, connector=connector)

    async def close(self) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        headers = {"New-Api-User": str(self.user_id)} if self.user_id else {}
        async with self.http.request(
            method, self.base_url + path, json=body, params=params or None, headers=headers
        ) as resp:
            reply = orjson.loads(await resp.read() or b"{}")
        if not (isinstance(reply, dict) and reply.get("success") is True):
            message = reply.get("message") if isinstance(reply, dict) else reply
            raise AdminError(f"{method} {path} failed: {message}")
        return reply.get("data")

    async def setup_and_login(self) -> None:
        body = {"username": ROOT_USER, "password": ROOT_PASSWORD, "confirmPassword": ROOT_PASSWORD}
        await self.call("POST", "/api/setup", body)
        await self.login()

    async def login(self) -> None:
        body = {"username": ROOT_USER, "password": ROOT_PASSWORD}
        data = await self.call("POST", "/api/user/login", body)
        self.user_id = int(data["id"])

    async def option(self, key: str, value: Any) -> None:
        await self.call("PUT", "/api/option/", {"key": key, "value": value})

    async def balances(self, token_id: int) -> dict[str, int]:
        """The root user's and the bench key's quota figures."""
        me = await self.call("GET", "/api/user/self")
        token = await self.call("GET", f"/api/token/{token_id}")
        return {
            "user_quota": int(me["quota"]),
            "user_used_quota": int(me["used_quota"]),
            "key_remain_quota": int(token["remain_quota"]),
            "key_used_quota": int(token["used_quota"]),
        }

    async def logged(self) -> dict[str, int]:
        """How many consume logs there are and the quota they sum to."""
        stat = await self.call("GET", "/api/log/stat", type=2)
        rows = await self.call("GET", "/api/log/", type=2, page_size=1)
        return {"log_quota": int(stat["quota"]), "log_rows": int(rows["total"])}


@dataclass(frozen=True, slots=True)
class Provisioned:
    key: str  # "sk-..." for the relay
    token_id: int
    channel_ids: dict[str, int]  # upstream key -> channel id


async def provision(admin: Admin, upstream_url: str) -> Provisioned:
    """Root, prices for the bench models, retries, one channel per spec and a limited key."""
    await admin.setup_and_login()
    await admin.call("PUT", "/api/user/", {"id": admin.user_id, "quota": plan.USER_QUOTA})
    await admin.option("ModelRatio", {model: 1 for model in plan.MODELS})
    await admin.option("RetryTimes", len(plan.FAILOVER_TIERS))
    channel_ids: dict[str, int] = {}
    for spec in plan.channels():
        data = await admin.call(
            "POST", "/api/channel/", {"mode": "single", "channel": spec.body(upstream_url)}
        )
        channel_ids[spec.key] = int(data[0])
    token = await admin.call(
        "POST",
        "/api/token/",
        {"name": "bench", "unlimited_quota": False, "remain_quota": plan.KEY_QUOTA},
    )
    return Provisioned("sk-" + token["key"], int(token["id"]), channel_ids)


async def settled(admin: Admin, token_id: int, seconds: float = 20.0) -> dict[str, int]:
    """Balances and logs once two reads a batch interval apart agree (the writer flushed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    previous: dict[str, int] = {}
    while True:
        current = {**await admin.balances(token_id), **await admin.logged()}
        if current == previous or loop.time() > deadline:
            return current
        previous = current
        await asyncio.sleep(1.5)
