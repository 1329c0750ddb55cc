"""Quota reservations on the request path, without a database query per request.

Balances (a user's quota, a limited token's remaining quota) live in the shared cache: Redis
when configured (exact across workers and nodes), else process memory. A balance is loaded
from the database on first use, minus the consumption this process has not flushed yet, and
is dropped by every admin write that changes it (see :class:`~newapi.cache.entities.EntityCache`).

A request *reserves* its worst-case cost before the upstream call - atomically against every
balance, so 200 concurrent requests can never spend more than is there - and *settles* the
difference once the real usage is known (a refund when it cost less, or when it failed).
With Redis, each reservation is also recorded as a hold of this process
(:mod:`newapi.billing.holds`), so the holds of a process that died are given back. With the
memory cache, reservations die with the process, and nothing was debited in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from newapi.billing.holds import RedisHolds
from newapi.cache.base import Cache
from newapi.cache.entities import EntityCache
from newapi.errors import InsufficientQuota

BalanceLoader = Callable[[int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Reservation:
    keys: tuple[str, ...]
    amount: int
    hold: str = ""  # its record in the process's Redis holds (see newapi.billing.holds)


class QuotaLedger:
    def __init__(
        self,
        cache: Cache,
        entities: EntityCache,
        *,
        load_user: BalanceLoader,
        load_token: BalanceLoader,
        ttl: float | None,
        holds: RedisHolds | None = None,
    ) -> None:
        self._cache = cache
        self._holds = holds
        self._entities = entities
        self._load_user = load_user
        self._load_token = load_token
        self._ttl = ttl

    async def reserve(
        self, *, user_id: int, token_id: int, token_key: str, limited: bool, amount: int
    ) -> Reservation:
        """Take ``amount`` from the user's and (when limited) the token's balance, or refuse."""
        keys = [self._entities.user_balance_key(user_id)]
        if limited:
            keys.append(self._entities.token_balance_key(token_key))
        amount = max(amount, 0)
        for _ in range(3):
            result, hold = await self._take(keys, amount)
            if result == -1:
                return Reservation(tuple(keys), amount, hold)
            if result == 0:
                raise InsufficientQuota("user quota is not enough for this request")
            if result == 1:
                raise InsufficientQuota(
                    "this API key's quota is not enough for this request",
                    code="pre_consume_token_quota_failed",
                )
            await self._cache.load_balance(keys[0], await self._load_user(user_id), self._ttl)
            if limited:
                await self._cache.load_balance(keys[1], await self._load_token(token_id), self._ttl)
        raise InsufficientQuota("quota balance could not be loaded, try again")

    async def _take(self, keys: list[str], amount: int) -> tuple[int, str]:
        if self._holds is not None:
            return await self._holds.take(keys, amount)
        return await self._cache.reserve(keys, amount), ""

    async def settle(self, reservation: Reservation, final: int) -> None:
        """Charge ``final`` instead of the reserved amount (refund or extra charge)."""
        delta = reservation.amount - final
        if reservation.hold and self._holds is not None:
            await self._holds.settle(reservation.hold, reservation.keys, delta)
        elif delta:
            for key in reservation.keys:
                await self._cache.adjust(key, delta)
