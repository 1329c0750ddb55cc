"""What the relay reads on every request, cached: tokens by key and users by id.

Entries are orjson snapshots of the rows with a TTL of ``SYNC_FREQUENCY`` seconds, and are
deleted by every admin write that changes them, so a node sees its own edits at once and other
nodes within one TTL at most. Token entries are named by an HMAC of the key with
``CRYPTO_SECRET`` (as new-api does), so the cache never holds a usable key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from newapi.cache.base import Cache


class EntityCache:
    def __init__(self, cache: Cache, crypto_secret: str, ttl: float) -> None:
        self._cache = cache
        self._secret = crypto_secret.encode()
        self.ttl = ttl

    def token_key(self, key: str) -> str:
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()
        return f"token:{digest}"

    @staticmethod
    def user_key(user_id: int) -> str:
        return f"user:{user_id}"

    async def get_token(self, key: str) -> dict[str, Any] | None:
        return _load(await self._cache.get(self.token_key(key)))

    async def put_token(self, key: str, record: dict[str, Any]) -> None:
        await self._cache.set(self.token_key(key), orjson.dumps(record), self.ttl)

    async def get_user(self, user_id: int) -> dict[str, Any] | None:
        return _load(await self._cache.get(self.user_key(user_id)))

    async def put_user(self, user_id: int, record: dict[str, Any]) -> None:
        await self._cache.set(self.user_key(user_id), orjson.dumps(record), self.ttl)

    def token_balance_key(self, key: str) -> str:
        return f"quota:{self.token_key(key)}"

    @staticmethod
    def user_balance_key(user_id: int) -> str:
        return f"quota:user:{user_id}"

    async def invalidate(
        self, *, token_keys: tuple[str, ...] = (), user_ids: tuple[int, ...] = ()
    ) -> None:
        # Cached records and quota balances go together: both reload from the database.
        names = [self.token_key(k) for k in token_keys] + [self.user_key(u) for u in user_ids]
        names += [self.token_balance_key(k) for k in token_keys]
        names += [self.user_balance_key(u) for u in user_ids]
        if names:
            await self._cache.delete(*names)


def _load(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else None
