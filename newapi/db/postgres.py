"""Tortoise's asyncpg engine, with a lost server translated to ``DBConnectionError``.

Named as the ``engine`` of a PostgreSQL connection (see :mod:`newapi.db.connection`); what
counts as a lost server is in :mod:`newapi.db.lost`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext

from newapi.db.lost import PooledTransaction, translated


class _LostServerTranslated:
    async def _translate_exceptions(
        self, func: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        parent = super()._translate_exceptions  # type: ignore[misc]
        return await translated(parent(func, *args, **kwargs))


class PostgresClient(_LostServerTranslated, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return PooledTransaction(_Transaction(self), self._pool_init_lock)


class _Transaction(_LostServerTranslated, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_Transaction(self))


client_class = PostgresClient
