"""One name for "the database server is not there": :class:`DBConnectionError`.

Tortoise translates SQL errors but lets the drivers' connection failures through as they are
(asyncpg's ``ConnectionRefusedError`` from the pool, ``ConnectionDoesNotExistError`` mid-query,
``CannotConnectNowError`` while the server starts) or as a generic ``OperationalError``
(asyncmy's "Can't connect", "Lost connection"). The engines of :mod:`newapi.db.postgres` and
:mod:`newapi.db.mysql` pass every call through :func:`translated`, so the app answers them all
with one 503.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import asyncmy.errors
import asyncpg
from tortoise.backends.base.client import TransactionContextPooled
from tortoise.exceptions import DBConnectionError, OperationalError

T = TypeVar("T")

# OSError covers refused and reset connections and the connect and statement timeouts;
# InterfaceError is what asyncpg raises on a connection the server dropped (a rollback after
# a query that lost its server: "the underlying connection is closed").
_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
)
# MySQL client errors: can't connect (socket, TCP), server has gone away, lost connection
# (during a query, at handshake).
_MYSQL_LOST_CODES = frozenset({2002, 2003, 2006, 2013, 2055})


def lost_server(exc: BaseException) -> bool:
    """Whether ``exc`` says the server is unreachable, stopped, restarting or hung."""
    if isinstance(exc, OperationalError) and exc.args:
        inner = exc.args[0]  # Tortoise's MySQL client wraps the driver's error as an argument
        return isinstance(inner, BaseException) and lost_server(inner)
    if isinstance(exc, asyncmy.errors.OperationalError | asyncmy.errors.InterfaceError):
        return bool(exc.args) and exc.args[0] in _MYSQL_LOST_CODES
    return isinstance(exc, _LOST)


# What may say "lost server"; lost_server() decides, anything else is re-raised untouched.
_CANDIDATES = (
    *_LOST,
    OperationalError,
    asyncmy.errors.OperationalError,
    asyncmy.errors.InterfaceError,
)


async def translated(work: Awaitable[T]) -> T:
    """Await ``work``; a lost server becomes :class:`DBConnectionError` (type name only)."""
    try:
        return await work
    except _CANDIDATES as exc:
        if not lost_server(exc):
            raise
        raise DBConnectionError(f"database unavailable: {_name(exc)}") from exc


class PooledTransaction(TransactionContextPooled):
    """A transaction whose connection, commit and rollback are translated too (Tortoise's
    translation covers only the statements)."""

    async def __aenter__(self) -> Any:
        return await translated(super().__aenter__())

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await translated(super().__aexit__(exc_type, exc_val, exc_tb))


def _name(exc: BaseException) -> str:
    if isinstance(exc, OperationalError) and exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    return type(exc).__name__
