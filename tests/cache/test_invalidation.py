"""Admin writes delete the cached records the relay reads, on a shared Redis."""

from __future__ import annotations

from newapi.cache import RedisCache
from newapi.cache.entities import EntityCache
from tests.conftest import StartGateway
from tests.support.gateway import SESSION_SECRET, ApiClient, setup_root


async def test_token_and_user_writes_invalidate_redis_entries(
    start_gateway: StartGateway, redis_url: str
) -> None:
    gateway = await start_gateway(REDIS_CONN_STRING=redis_url, CRYPTO_SECRET="crypto-1")
    root = await setup_root(gateway.url)
    cache = RedisCache(redis_url)
    entities = EntityCache(cache, crypto_secret="crypto-1", ttl=60)
    try:
        token = (await root.post("/api/token/", {"name": "cached", "remain_quota": 5})).data
        key = token["key"]
        # What the relay would have cached after a request with this key.
        await entities.put_token(key, {"id": token["id"], "remain_quota": 5})
        await entities.put_user(root.user_id, {"id": root.user_id, "quota": 1})
        assert await entities.get_token(key) is not None

        edit = await root.put("/api/token/", {"id": token["id"], "remain_quota": 9})
        assert edit.success
        assert await entities.get_token(key) is None

        await entities.put_token(key, {"id": token["id"]})
        assert (await root.delete(f"/api/token/{token['id']}")).success
        assert await entities.get_token(key) is None

        assert (await root.put("/api/user/self", {"display_name": "Renamed"})).success
        assert await entities.get_user(root.user_id) is None
    finally:
        await root.close()
        await cache.close()


async def test_redis_never_holds_a_raw_key(start_gateway: StartGateway, redis_url: str) -> None:
    from redis import asyncio as aioredis

    gateway = await start_gateway(REDIS_CONN_STRING=redis_url)
    root: ApiClient = await setup_root(gateway.url)
    cache = RedisCache(redis_url)
    try:
        key = (await root.post("/api/token/", {"name": "k"})).data["key"]
        await EntityCache(cache, SESSION_SECRET, 60).put_token(key, {"id": 1})
        client = aioredis.from_url(redis_url)
        names = [name.decode() for name in await client.keys("*")]
        await client.aclose()
        assert any(name.startswith("token:") for name in names)
        assert all(key not in name for name in names)
    finally:
        await root.close()
        await cache.close()
