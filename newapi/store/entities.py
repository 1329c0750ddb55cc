"""Read-through lookups for the relay: cache first, database on a miss."""

from __future__ import annotations

from typing import Any

from newapi.cache.entities import EntityCache
from newapi.models import Token, User
from newapi.store.tokens import relay_record


def user_record(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "group": user.group or "default",
        "quota": user.quota or 0,
        "status": user.status or 0,
        "role": user.role or 0,
        "email": user.email or "",
        "setting": user.setting or "",
    }


async def token_by_key(entities: EntityCache, key: str) -> dict[str, Any] | None:
    cached = await entities.get_token(key)
    if cached is not None:
        return cached
    token = await Token.filter(key=key, deleted_at__isnull=True).first()
    if token is None:
        return None
    record = relay_record(token)
    await entities.put_token(key, record)
    return record


async def user_by_id(entities: EntityCache, user_id: int) -> dict[str, Any] | None:
    cached = await entities.get_user(user_id)
    if cached is not None:
        return cached
    user = await User.filter(id=user_id, deleted_at__isnull=True).first()
    if user is None:
        return None
    record = user_record(user)
    await entities.put_user(user_id, record)
    return record
