"""Tortoise's asyncpg engine, with a lost server translated to ``DBConnectionError``.

Tortoise translates SQL errors but lets the driver's connection failures through as they are
(``ConnectionRefusedError`` from the pool, ``ConnectionDoesNotExistError`` mid-query,
``CannotConnectNowError`` while the server starts). Translated here, once, every caller sees
one exception for "the database is not there", which the app answers with a 503.
Named as the ``engine`` of a PostgreSQL connection (see :mod:`newapi.db.connection`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.exceptions import DBConnectionError

T = TypeVar("T")

# What a stopped, crashed, restarting, hung or unreachable server raises: OSError covers
# refused and reset connections and the connect and statement timeouts; InterfaceError is
# what asyncpg raises on a connection the server dropped (Tortoise's rollback after a query
# that lost its server: "the underlying connection is closed").
LOST_SERVER = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
)


async def translated(work: Awaitable[T]) -> T:
    """Await ``work``; a lost server becomes :class:`DBConnectionError` (type name only)."""
    try:
        return await work
    except LOST_SERVER as exc:
        raise DBConnectionError(f"database unavailable: {type(exc).__name__}") from exc


class _LostServerTranslated:
    async def _translate_exceptions(
        self, func: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        parent = super()._translate_exceptions  # type: ignore[misc]
        return await translated(parent(func, *args, **kwargs))


class PostgresClient(_LostServerTranslated, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return _PooledTransaction(_Transaction(self), self._pool_init_lock)


class _Transaction(_LostServerTranslated, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_Transaction(self))


class _PooledTransaction(TransactionContextPooled):
    # Acquiring the connection, the commit and the rollback are outside Tortoise's translation.
    async def __aenter__(self) -> Any:
        return await translated(super().__aenter__())

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await translated(super().__aexit__(exc_type, exc_val, exc_tb))


client_class = PostgresClient
