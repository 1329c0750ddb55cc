"""The relay's read-through lookups: cache first, database on a miss, soft deletes respected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise

from newapi.cache import MemoryCache
from newapi.cache.entities import EntityCache
from newapi.config import load_settings
from newapi.db.connection import tortoise_config
from newapi.db.migrate import migrate
from newapi.models import Token, User
from newapi.store.common import deleted_now
from newapi.store.entities import token_by_key, user_by_id


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[None]:
    settings = load_settings({"SQLITE_PATH": str(tmp_path / "entities.db")})
    await migrate(settings)
    await Tortoise.init(config=tortoise_config(settings))
    yield
    await Tortoise.close_connections()


async def test_token_read_through_and_cache_hit(database: None) -> None:
    user = await User.create(username="u1", password="x", quota=42)
    await Token.create(user_id=user.id, key="k" * 48, name="t", remain_quota=7)
    entities = EntityCache(MemoryCache(), "secret", ttl=60)
    record = await token_by_key(entities, "k" * 48)
    assert record is not None and record["remain_quota"] == 7 and "key" not in record
    # A second read is served from the cache even if the row changed underneath...
    await Token.filter(key="k" * 48).update(remain_quota=1)
    assert (await token_by_key(entities, "k" * 48))["remain_quota"] == 7
    # ...until the write path invalidates it.
    await entities.invalidate(token_keys=("k" * 48,))
    assert (await token_by_key(entities, "k" * 48))["remain_quota"] == 1
    assert (await user_by_id(entities, user.id))["quota"] == 42


async def test_soft_deleted_rows_are_invisible(database: None) -> None:
    user = await User.create(username="gone", password="x", deleted_at=deleted_now())
    await Token.create(user_id=user.id, key="d" * 48, deleted_at=deleted_now())
    entities = EntityCache(MemoryCache(), "secret", ttl=60)
    assert await token_by_key(entities, "d" * 48) is None
    assert await user_by_id(entities, user.id) is None
    assert await token_by_key(entities, "unknown") is None
