"""Read-through lookups for the relay: cache first, database on a miss."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from tortoise.queryset import QuerySetSingle

from newapi.cache.entities import EntityCache
from newapi.errors import ServiceUnavailable
from newapi.models import Token, User
from newapi.store.tokens import relay_record

# A key or user lookup is one indexed row: a database that takes longer is in trouble, and the
# relay caller gets a 503 then instead of waiting for the 30-s statement timeout.
LOOKUP_SECONDS = 3.0
M = TypeVar("M")


async def _first(query: QuerySetSingle[M | None]) -> M | None:
    # Not asyncio.timeout: cancelling a query on a hung server waits for the connection's
    # release, which waits for the server. The lookup is left to end on its own (the statement
    # timeout bounds it) and the caller is answered now.
    lookup = asyncio.ensure_future(query)
    done, _ = await asyncio.wait({lookup}, timeout=LOOKUP_SECONDS)
    if lookup in done:
        return lookup.result()
    lookup.add_done_callback(_ignore_outcome)
    lookup.cancel()
    raise ServiceUnavailable("database unavailable: lookup timed out")


def _ignore_outcome(lookup: asyncio.Future[Any]) -> None:
    if not lookup.cancelled():
        lookup.exception()  # retrieved: nobody waits for it any more


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
    token = await _first(Token.filter(key=key, deleted_at__isnull=True).first())
    if token is None:
        return None
    record = relay_record(token)
    await entities.put_token(key, record)
    return record


async def user_by_id(entities: EntityCache, user_id: int) -> dict[str, Any] | None:
    cached = await entities.get_user(user_id)
    if cached is not None:
        return cached
    user = await _first(User.filter(id=user_id, deleted_at__isnull=True).first())
    if user is None:
        return None
    record = user_record(user)
    await entities.put_user(user_id, record)
    return record
