"""Sessions end when the user (or an admin) says so, on every node; the cookie is Secure over TLS.

Each case logs one user in twice (two clients, two cookie jars, like two browsers), ends the
sessions one way, and checks that the other browser is refused with the 401 envelope.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from tests.conftest import StartGateway
from tests.support.gateway import (
    ROOT,
    ROOT_PASSWORD,
    ROOT_USER,
    ApiClient,
    Gateway,
    Reply,
    free_port,
    setup_root,
)

PASSWORD = "session-pass-1"
NEW_PASSWORD = "session-pass-2"


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """The module's server, without the login rate limit these many logins would hit."""
    server = Gateway(tmp_path_factory.mktemp("gateway"), {"CRITICAL_RATE_LIMIT_ENABLE": "false"})
    await server.start()
    yield server
    await server.stop()


def cookie_of(client: ApiClient) -> str:
    cookie = client.http.cookie_jar.filter_cookies(URL(client.base_url)).get("session")
    assert cookie is not None and cookie.value
    return cookie.value


async def replay(base_url: str, user_id: int, cookie: str) -> Reply:
    """``GET /api/user/self`` with a copied cookie, from a fresh client (another browser)."""
    client = ApiClient(base_url)
    client.user_id = user_id
    try:
        return await client.get("/api/user/self", headers={"Cookie": f"session={cookie}"})
    finally:
        await client.close()


def assert_logged_out(reply: Reply) -> None:
    assert reply.status == 401 and reply.body["success"] is False, reply.body


async def login(base_url: str, username: str, password: str = PASSWORD) -> ApiClient:
    client = ApiClient(base_url)
    reply = await client.login(username, password)
    assert reply.success, reply.body
    assert (await client.get("/api/user/self")).success
    return client


async def new_user(root: ApiClient, username: str) -> None:
    reply = await root.post("/api/user/", {"username": username, "password": PASSWORD})
    assert reply.success, reply.body


async def user_id_of(root: ApiClient, username: str) -> int:
    found = await root.get("/api/user/search", params={"keyword": username})
    return next(u["id"] for u in found.data["items"] if u["username"] == username)


Ending = Callable[[ApiClient, ApiClient, int], Awaitable[Reply]]


async def _logout(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    return await first.get("/api/user/logout")


async def _own_password(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    body = {"password": NEW_PASSWORD, "original_password": PASSWORD}
    return await first.put("/api/user/self", body)


async def _admin_password(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    return await root.put("/api/user/", {"id": user_id, "password": NEW_PASSWORD})


async def _manage(action: str, root: ApiClient, user_id: int) -> Reply:
    return await root.post("/api/user/manage", {"id": user_id, "action": action})


async def _disable(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    return await _manage("disable", root, user_id)


async def _delete(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    return await _manage("delete", root, user_id)


async def _force_logout(root: ApiClient, first: ApiClient, user_id: int) -> Reply:
    return await _manage("logout", root, user_id)


ENDINGS: dict[str, Ending] = {
    "logout": _logout,
    "own-password": _own_password,
    "admin-password": _admin_password,
    "disable": _disable,
    "delete": _delete,
    "force-logout": _force_logout,
}


@pytest.mark.parametrize("how", ENDINGS)
async def test_ending_sessions_refuses_the_other_browser(
    gateway: Gateway, root: ApiClient, how: str
) -> None:
    username = f"end-{how}"[:20]
    await new_user(root, username)
    user_id = await user_id_of(root, username)
    first, second = await login(gateway.url, username), await login(gateway.url, username)
    old_cookie = cookie_of(first)
    try:
        ended = await ENDINGS[how](root, first, user_id)
        assert ended.success, ended.body
        assert_logged_out(await second.get("/api/user/self"))
        # The cookie the first browser had before, replayed from elsewhere, is dead too ...
        replayed = await replay(gateway.url, user_id, old_cookie)
        if how == "own-password":
            # ... except that the browser that changed the password carries on.
            assert (await first.get("/api/user/self")).success
            assert_logged_out(replayed)
            assert (await login(gateway.url, username, NEW_PASSWORD)).user_id == user_id
        else:
            assert_logged_out(replayed)
            assert_logged_out(await first.get("/api/user/self"))
    finally:
        await first.close()
        await second.close()


async def test_a_stale_cookie_cannot_log_the_user_out_again(
    gateway: Gateway, root: ApiClient
) -> None:
    await new_user(root, "stale-cookie")
    first = await login(gateway.url, "stale-cookie")
    stale = cookie_of(first)
    assert (await first.get("/api/user/logout")).success
    fresh = await login(gateway.url, "stale-cookie")
    try:
        assert_logged_out(await replay(gateway.url, fresh.user_id or 0, stale))
        client = ApiClient(gateway.url)
        await client.get("/api/user/logout", headers={"Cookie": f"session={stale}"})
        await client.close()
        assert (await fresh.get("/api/user/self")).success
    finally:
        await first.close()
        await fresh.close()


async def test_force_logout_is_refused_to_lower_admins(gateway: Gateway, root: ApiClient) -> None:
    reply = await root.post(
        "/api/user/", {"username": "lower-admin", "password": PASSWORD, "role": 10}
    )
    assert reply.success, reply.body
    admin = await login(gateway.url, "lower-admin")
    try:
        refused = await admin.post("/api/user/manage", {"id": root.user_id, "action": "logout"})
        assert not refused.success and "lower role" in refused.message
        assert (await root.get("/api/user/self")).success
    finally:
        await admin.close()


async def test_logout_on_one_node_ends_the_session_on_another(
    start_gateway: StartGateway, tmp_path: Path, redis_url: str
) -> None:
    env = {"REDIS_CONN_STRING": redis_url, "CRITICAL_RATE_LIMIT_ENABLE": "false"}
    node_a = await start_gateway(tmp_path, **env)
    node_b = await start_gateway(tmp_path, **env)
    root = await setup_root(node_a.url)
    await new_user(root, "two-nodes")
    user_id = await user_id_of(root, "two-nodes")
    on_a = await login(node_a.url, "two-nodes")
    on_b = await login(node_b.url, "two-nodes")
    cookie = cookie_of(on_a)
    try:
        assert (await replay(node_b.url, user_id, cookie)).success  # A's session works on B
        assert (await on_a.get("/api/user/logout")).success
        assert_logged_out(await replay(node_b.url, user_id, cookie))
        assert_logged_out(await on_b.get("/api/user/self"))
        again = await login(node_b.url, "two-nodes")
        assert (await replay(node_a.url, user_id, cookie_of(again))).success
        ended = await root.post("/api/user/manage", {"id": user_id, "action": "logout"})
        assert ended.success, ended.body
        assert_logged_out(await again.get("/api/user/self"))
        await again.close()
    finally:
        for client in (root, on_a, on_b):
            await client.close()


# ---- the Secure attribute ----------------------------------------------------------------------


async def _login_cookie(url: str, headers: dict[str, str] | None = None) -> str:
    """The Set-Cookie header of a root login at ``url`` (TLS not verified: a self-signed cert)."""
    body = {"username": ROOT_USER, "password": ROOT_PASSWORD}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/user/login", json=body, headers=headers, ssl=False) as r,
    ):
        assert r.status == 200 and (await r.json())["success"], await r.text()
        return r.headers["Set-Cookie"]


def _secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")]


async def test_cookie_is_secure_only_behind_a_trusted_proxy_that_says_https(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    for name in ("trusting", "untrusting", "other"):
        (tmp_path / name).mkdir()
    trusting = await start_gateway(tmp_path / "trusting", TRUSTED_PROXIES="127.0.0.1/32")
    untrusting = await start_gateway(tmp_path / "untrusting")
    other = await start_gateway(tmp_path / "other", TRUSTED_PROXIES="10.0.0.0/8")
    https = {"X-Forwarded-Proto": "https"}
    for gateway in (trusting, untrusting, other):
        await (await setup_root(gateway.url)).close()
    assert _secure(await _login_cookie(trusting.url, https))
    assert _secure(await _login_cookie(trusting.url, {"X-Forwarded-Proto": "http, https"}))
    assert not _secure(await _login_cookie(trusting.url))
    assert not _secure(await _login_cookie(trusting.url, {"X-Forwarded-Proto": "http"}))
    assert not _secure(await _login_cookie(untrusting.url, https))
    assert not _secure(await _login_cookie(other.url, https))


@pytest.fixture
def tls_config(tmp_path: Path) -> tuple[Path, int]:
    """A Hypercorn config serving TLS on PORT and plain HTTP on a second port (for start-up)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    plain_port = free_port()
    config = tmp_path / "hypercorn-tls.toml"
    base = (ROOT / "hypercorn.toml").read_text()
    config.write_text(
        f'{base}\ncertfile = "{cert}"\nkeyfile = "{key}"\n'
        f'insecure_bind = ["127.0.0.1:{plain_port}"]\n'
    )
    return config, plain_port


class TlsGateway(Gateway):
    """A server whose PORT speaks TLS; ``url`` is its plain-HTTP second bind."""

    plain_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.plain_port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


async def test_cookie_is_secure_over_tls(tmp_path: Path, tls_config: tuple[Path, int]) -> None:
    config, plain_port = tls_config
    server = TlsGateway(tmp_path, {"HYPERCORN_CONFIG": str(config)})
    server.plain_port = plain_port
    await server.start()
    try:
        await (await setup_root(server.url)).close()
        assert _secure(await _login_cookie(server.tls_url))
        assert not _secure(await _login_cookie(server.url))
    finally:
        await server.stop()
    await asyncio.sleep(0)
