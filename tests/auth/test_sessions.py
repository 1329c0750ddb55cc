"""Sessions open on the admin API and the console, never on relay paths."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network

from quart import Quart, session

from newapi.auth.sessions import AdminSessions, SessionEpochs, is_tls
from newapi.cache import Cache, MemoryCache, RedisCache


def make_app() -> Quart:
    app = Quart(__name__)
    app.secret_key = "test-secret-0123456789"
    app.session_interface = AdminSessions()

    @app.get("/api/login")
    async def login() -> str:
        session["id"] = 7
        return "ok"

    @app.get("/api/who")
    async def who() -> str:
        return str(session.get("id"))

    @app.get("/v1/models")
    async def models() -> str:
        real = session._get_current_object()  # type: ignore[attr-defined]
        return f"{type(real).__name__}:{session.get('id')}"

    return app


async def test_the_cookie_works_on_api_paths_and_is_ignored_on_relay_paths() -> None:
    client = make_app().test_client()
    assert (await (await client.get("/api/login")).get_data(as_text=True)) == "ok"
    assert (await (await client.get("/api/who")).get_data(as_text=True)) == "7"
    relay = await (await client.get("/v1/models")).get_data(as_text=True)
    assert relay == "NullSession:None"


# ---- epochs and the TLS decision (pure, or on the cache backends) ------------------------------


def test_tls_is_direct_or_said_by_a_trusted_proxy() -> None:
    trusted = (ip_network("127.0.0.1/32"), ip_network("fd00::/8"))
    assert is_tls("https", "203.0.113.9", "", ())
    assert is_tls("http", "127.0.0.1", "https", trusted)
    assert is_tls("http", "fd00::1", "HTTPS", trusted)
    assert is_tls("http", "127.0.0.1", "http, https", trusted)
    assert not is_tls("http", "127.0.0.1", "https, http", trusted)
    assert not is_tls("http", "127.0.0.1", "https", ())
    assert not is_tls("http", "203.0.113.9", "https", trusted)
    assert not is_tls("http", "not-an-ip", "https", trusted)


async def _epochs_end_and_expire(cache: Cache) -> None:
    epochs = SessionEpochs(cache, lifetime_seconds=60)
    first = await epochs.current(7)
    assert await epochs.current(7) == first  # kept, not replaced
    ended = await epochs.end_all(7)
    assert ended != first and await epochs.current(7) == ended
    assert await epochs.current(8) != ended  # per user
    await cache.delete("session-epoch:7")  # expired or evicted: no old cookie matches again
    assert await epochs.current(7) not in (first, ended)


async def test_epochs_in_memory() -> None:
    await _epochs_end_and_expire(MemoryCache())


async def test_epochs_in_redis_are_shared(redis_url: str) -> None:
    one, two = RedisCache(redis_url), RedisCache(redis_url)
    try:
        await _epochs_end_and_expire(one)
        ended = await SessionEpochs(one, 60).end_all(9)
        assert await SessionEpochs(two, 60).current(9) == ended
    finally:
        await one.close()
        await two.close()


async def test_keep_renews_the_time_to_live() -> None:
    cache = MemoryCache()
    assert await cache.keep("k", b"a", 0.05) == b"a"
    await asyncio.sleep(0.03)
    assert await cache.keep("k", b"b", 0.05) == b"a"
    await asyncio.sleep(0.03)  # past the first ttl, within the renewed one
    assert await cache.get("k") == b"a"
    await asyncio.sleep(0.06)
    assert await cache.keep("k", b"c", 0.05) == b"c"
