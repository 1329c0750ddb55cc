"""Tortoise's MySQL engine (asyncmy), with a lost server translated to ``DBConnectionError``.

Named as the ``engine`` of a MySQL connection (see :mod:`newapi.db.connection`); what counts
as a lost server is in :mod:`newapi.db.lost`.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.mysql.client import MySQLClient as TortoiseMySQLClient
from tortoise.backends.mysql.client import TransactionWrapper

from newapi.db.lost import PooledTransaction, translated


class _LostServerTranslated:
    """Every statement of the client (Tortoise's own translation is a plain decorator)."""

    async def execute_insert(self, query: str, values: list[Any]) -> Any:
        return await translated(super().execute_insert(query, values))  # type: ignore[misc]

    async def execute_many(self, query: str, values: list[Any]) -> None:
        await translated(super().execute_many(query, values))  # type: ignore[misc]

    async def execute_query(self, query: str, values: list[Any] | None = None) -> Any:
        return await translated(super().execute_query(query, values))  # type: ignore[misc]

    async def execute_query_dict(self, query: str, values: list[Any] | None = None) -> Any:
        return await translated(super().execute_query_dict(query, values))  # type: ignore[misc]

    async def execute_script(self, query: str) -> None:
        await translated(super().execute_script(query))  # type: ignore[misc]


class MySQLClient(_LostServerTranslated, TortoiseMySQLClient):
    def _in_transaction(self) -> TransactionContext:
        return PooledTransaction(_Transaction(self), self._pool_init_lock)


class _Transaction(_LostServerTranslated, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_Transaction(self))


client_class = MySQLClient
