"""Redemption codes: queries, batch creation and the exactly-once redeem.

A code is redeemed by one conditional ``UPDATE ... WHERE status = 1 AND not expired AND
deleted_at IS NULL`` that must change exactly one row, in the same transaction as the atomic
quota increment: of many concurrent redeemers only one can flip the row, so a code credits once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from newapi.errors import BadRequest, NotFound
from newapi.models import Redemption, User
from newapi.models.redemption import REDEMPTION_DISABLED, REDEMPTION_ENABLED, REDEMPTION_USED
from newapi.store.common import deleted_now
from newapi.store.users import MAIN_CONNECTION, is_id

KEY_LENGTH = 32
STATUS_EXPIRED = "expired"


def new_key() -> str:
    """32 lowercase hex characters (a uuid4 without dashes), as new-api makes them."""
    return uuid.uuid4().hex


def redemption_json(code: Redemption) -> dict[str, Any]:
    """new-api's Redemption JSON (``count`` exists only in the API, always 0 here)."""
    return {
        "id": code.id,
        "user_id": code.user_id or 0,
        "key": code.key or "",
        "status": code.status or 0,
        "name": code.name or "",
        "quota": code.quota or 0,
        "created_time": code.created_time or 0,
        "redeemed_time": code.redeemed_time or 0,
        "count": 0,
        "used_user_id": code.used_user_id or 0,
        "DeletedAt": code.deleted_at.isoformat() if code.deleted_at else None,
        "expired_time": code.expired_time or 0,
    }


def live(**filters: Any) -> QuerySet[Redemption]:
    return Redemption.filter(deleted_at__isnull=True, **filters)


def _not_expired(now: int) -> Q:
    return Q(expired_time=0) | Q(expired_time__isnull=True) | Q(expired_time__gte=now)


def _expired(now: int) -> Q:
    return Q(expired_time__lt=now) & ~Q(expired_time=0)


def is_expired(code: Redemption, now: int) -> bool:
    expired = code.expired_time or 0
    return expired != 0 and expired < now


def search(keyword: str, status: str) -> QuerySet[Redemption]:
    """Name prefix, exact id, or the exact key; ``status`` is 1, 2, 3 or ``expired``."""
    query = live()
    if keyword:
        match = Q(name__startswith=keyword)
        if is_id(keyword):
            match |= Q(id=int(keyword))
        key = keyword.replace("-", "").lower()
        if len(key) == KEY_LENGTH:
            match |= Q(key=key)
        query = query.filter(match)
    return _with_status(query, status, int(time.time()))


def _with_status(query: QuerySet[Redemption], status: str, now: int) -> QuerySet[Redemption]:
    if status == STATUS_EXPIRED:
        return query.filter(_expired(now), status=REDEMPTION_ENABLED)
    if status == str(REDEMPTION_ENABLED):
        return query.filter(_not_expired(now), status=REDEMPTION_ENABLED)
    if status in (str(REDEMPTION_DISABLED), str(REDEMPTION_USED)):
        return query.filter(status=int(status))
    if status:
        raise BadRequest("status must be 1 (enabled), 2 (disabled), 3 (used) or expired")
    return query


async def create_many(
    creator_id: int, name: str, quota: int, expired_time: int, count: int
) -> list[str]:
    """Insert ``count`` codes in one transaction and return their keys."""
    now = int(time.time())
    keys = [new_key() for _ in range(count)]
    rows = [
        Redemption(
            user_id=creator_id,
            key=key,
            status=REDEMPTION_ENABLED,
            name=name,
            quota=quota,
            created_time=now,
            redeemed_time=0,
            used_user_id=0,
            expired_time=expired_time,
        )
        for key in keys
    ]
    async with in_transaction(MAIN_CONNECTION):
        await Redemption.bulk_create(rows)
    return keys


async def set_status(code_id: int, status: int) -> None:
    """Change the status of a code that is not used yet: a used code can never come back."""
    if await live(id=code_id).exclude(status=REDEMPTION_USED).update(status=status):
        return
    # MySQL counts only rows that changed: no row updated may also mean "already so".
    current = await live(id=code_id).values_list("status", flat=True)
    if not current:
        raise NotFound(f"redemption code {code_id} not found")
    if current[0] == REDEMPTION_USED:
        raise BadRequest("this redemption code has been used; its status cannot change")


async def soft_delete(code_id: int) -> bool:
    return await live(id=code_id).update(deleted_at=deleted_now()) == 1


async def delete_invalid() -> int:
    """Soft-delete used, disabled and expired codes; return how many."""
    now = int(time.time())
    invalid = Q(status__in=(REDEMPTION_USED, REDEMPTION_DISABLED)) | (
        Q(status=REDEMPTION_ENABLED) & _expired(now)
    )
    return await live().filter(invalid).update(deleted_at=deleted_now())


def refusal(code: Redemption | None, now: int) -> BadRequest | None:
    """Why ``code`` cannot be redeemed now, or None if it can."""
    if code is None:
        return BadRequest("invalid redemption code")
    if code.status == REDEMPTION_USED:
        return BadRequest("this redemption code has already been used")
    if code.status != REDEMPTION_ENABLED:
        return BadRequest("this redemption code is disabled")
    if is_expired(code, now):
        return BadRequest("this redemption code has expired")
    return None


async def redeem(key: str, user_id: int) -> Redemption:
    """Mark the code used by ``user_id`` and credit its quota, both or neither."""
    now = int(time.time())
    code = await live(key=key).first()
    error = refusal(code, now)
    if error is not None or code is None:
        raise error or BadRequest("invalid redemption code")
    if not await _claim(code, user_id, now):
        # Another request changed the row first. Read it again outside the transaction:
        # inside, MySQL's REPEATABLE READ would still show the old snapshot.
        raise refusal(await live(id=code.id).first(), now) or BadRequest(
            "this redemption code changed while redeeming it; try again"
        )
    code.status, code.redeemed_time, code.used_user_id = REDEMPTION_USED, now, user_id
    return code


async def _claim(code: Redemption, user_id: int, now: int) -> bool:
    """Flip the code to used and credit the user in one transaction; False if the row had
    changed since it was read (used, disabled, expired, deleted or re-priced meanwhile)."""
    async with in_transaction(MAIN_CONNECTION):
        claimed = (
            await live(id=code.id, status=REDEMPTION_ENABLED, quota=code.quota)
            .filter(_not_expired(now))
            .update(status=REDEMPTION_USED, redeemed_time=now, used_user_id=user_id)
        )
        if claimed != 1:
            return False
        credited = await User.filter(id=user_id, deleted_at__isnull=True).update(
            quota=F("quota") + (code.quota or 0)
        )
        if credited != 1:
            raise NotFound("user not found")
    return True
