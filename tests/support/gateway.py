"""A real newapi server (``python -m newapi serve``, Hypercorn) on loopback, and a client for it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from newapi.config import variable_names
from tests.support.forked import ForkedProcess, start_forked

ROOT = Path(__file__).resolve().parents[2]
SESSION_SECRET = "test-session-secret-0123456789"
# The developer's own settings must not leak into a test server.
_SERVER_VARIABLES = variable_names()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gateway:
    """One server process. ``log_text()`` returns all it printed (to check for leaked secrets)."""

    workdir: Path
    env: dict[str, str]
    port: int = 0
    process: ForkedProcess | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"server-{id(self)}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, wait_seconds: float = 60.0) -> None:
        self.port = free_port()
        inherited = {k: v for k, v in os.environ.items() if k not in _SERVER_VARIABLES}
        env = {
            **inherited,
            "PORT": str(self.port),
            "SQLITE_PATH": str(self.workdir / "one-api.db"),
            "SESSION_SECRET": SESSION_SECRET,
            "HYPERCORN_CONFIG": str(ROOT / "hypercorn.toml"),
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
            "SEARCH_RATE_LIMIT_ENABLE": "false",
            **self.env,
        }
        # ``newapi serve`` forked from a process that imported newapi once (tests.support.forked)
        self.process = start_forked(self.workdir, env, self.log_path)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"newapi exited early:\n{self.log_text()}")
                try:
                    async with http.get(f"{self.url}/api/status") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"newapi did not start:\n{self.log_text()}")
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def success(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("success") is True

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def message(self) -> str:
        return self.body.get("message", "") if isinstance(self.body, dict) else ""


class ApiClient:
    """An admin-API caller with its own cookie jar, like one browser tab."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.user_id: int | None = None
        self.access_token: str | None = None
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.user_id is not None:
            headers["New-Api-User"] = str(self.user_id)
        if self.access_token:
            headers["Authorization"] = self.access_token
        return {**headers, **(extra or {})}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> Reply:
        async with self.http.request(
            method,
            self.base_url + path,
            json=json,
            data=data,
            params=params,
            headers=self._headers(headers),
        ) as resp:
            raw = await resp.read()
            try:
                body: Any = await resp.json(content_type=None) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return Reply(resp.status, body, dict(resp.headers))

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def login(self, username: str, password: str) -> Reply:
        reply = await self.post("/api/user/login", {"username": username, "password": password})
        if reply.success:
            self.user_id = reply.data["id"]
        return reply


ROOT_USER = "root"
ROOT_PASSWORD = "root-password-1"


async def setup_root(base_url: str) -> ApiClient:
    """Run first-run setup and return a client logged in as root."""
    client = ApiClient(base_url)
    reply = await client.post(
        "/api/setup",
        {
            "username": ROOT_USER,
            "password": ROOT_PASSWORD,
            "confirmPassword": ROOT_PASSWORD,
        },
    )
    assert reply.success, reply.body
    login = await client.login(ROOT_USER, ROOT_PASSWORD)
    assert login.success, login.body
    return client
