"""User queries for the admin API: lookups, search and the atomic quota writes.

Every quota change is one conditional ``UPDATE ... SET quota = quota +/- n`` so concurrent
admin edits, redemptions and relay billing never overwrite each other.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from newapi.models import Token, User
from newapi.store.common import deleted_now

# Tortoise's name for the main database (logs may live on another, see LOG_SQL_DSN).
MAIN_CONNECTION = "default"
# Ids are signed 64-bit columns; larger numbers would make the driver raise.
MAX_ID = 2**63 - 1
# The console is JavaScript: larger integers would lose precision in the browser.
MAX_QUOTA = 2**53 - 1
STATUS_DELETED = -1


def is_id(text: str) -> bool:
    """Whether ``text`` is a number that can be a row id (search keywords may be)."""
    return text.isdigit() and 0 < int(text) <= MAX_ID


def live(**filters: Any) -> QuerySet[User]:
    return User.filter(deleted_at__isnull=True, **filters)


def everyone() -> QuerySet[User]:
    """All users, soft-deleted ones included (the admin list shows them)."""
    return User.all()


def search(keyword: str, group: str, role: int | None, status: int | None) -> QuerySet[User]:
    """new-api's user search: keyword on id, username, email or display name; ``status=-1``
    selects soft-deleted users, any other status selects live users with that status."""
    query = everyone()
    if keyword:
        match = (
            Q(username__icontains=keyword)
            | Q(email__icontains=keyword)
            | Q(display_name__icontains=keyword)
        )
        if is_id(keyword):
            match |= Q(id=int(keyword))
        query = query.filter(match)
    if group:
        query = query.filter(group=group)
    if role is not None:
        query = query.filter(role=role)
    if status == STATUS_DELETED:
        query = query.filter(deleted_at__isnull=False)
    elif status is not None:
        query = query.filter(status=status, deleted_at__isnull=True)
    return query


async def username_taken(username: str, *, except_id: int = 0) -> bool:
    """Soft-deleted users keep their name (the column is unique), so they count too."""
    return await User.filter(username=username).exclude(id=except_id).exists()


async def add_quota(user_id: int, amount: int) -> bool:
    """Add ``amount`` unless the result would pass :data:`MAX_QUOTA`; False if refused."""
    updated = await live(id=user_id, quota__lte=MAX_QUOTA - amount).update(
        quota=F("quota") + amount
    )
    return updated == 1


async def subtract_quota(user_id: int, amount: int) -> bool:
    """Subtract ``amount`` only if the user has at least that much; False if refused."""
    updated = await live(id=user_id, quota__gte=amount).update(quota=F("quota") - amount)
    return updated == 1


async def set_quota(user_id: int, value: int, *, expected: int | None = None) -> bool:
    """Overwrite the quota; with ``expected``, only if it still holds that value."""
    query = live(id=user_id)
    if expected is not None:
        query = query.filter(quota=expected)
    return await query.update(quota=value) == 1


async def current_quota(user_id: int) -> int:
    row = await live(id=user_id).values_list("quota", flat=True)
    return int(row[0] or 0) if row else 0


async def soft_delete(user_id: int) -> bool:
    return await live(id=user_id).update(deleted_at=deleted_now()) == 1


async def token_keys(user_id: int) -> tuple[str, ...]:
    """The keys of a user's tokens, to drop their cached copies when the user changes."""
    keys = await Token.filter(user_id=user_id).values_list("key", flat=True)
    return tuple(str(k) for k in keys if k)
