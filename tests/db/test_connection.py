"""Bounds on a database that is down or hung, and the engine that names a lost server (pure)."""

from __future__ import annotations

from typing import Any

import asyncmy.errors
import asyncpg
import pytest
from tortoise.exceptions import DBConnectionError, OperationalError

from newapi.config import parse_dsn
from newapi.db.connection import COMMAND_TIMEOUT, CONNECT_TIMEOUT, connection_config
from newapi.db.lost import translated


def credentials(dsn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config = connection_config(parse_dsn("SQL_DSN", dsn, "one-api.db"), 5)
    assert isinstance(config, dict)
    return config, config["credentials"]


def test_postgres_waits_are_bounded_and_lost_servers_translated() -> None:
    config, got = credentials("postgres://app@db.example.com/newapi")
    assert config["engine"] == "newapi.db.postgres"
    assert (got["timeout"], got["command_timeout"]) == (CONNECT_TIMEOUT, COMMAND_TIMEOUT)


def test_a_connect_timeout_in_the_dsn_wins() -> None:
    _, got = credentials("postgres://app@db.example.com/newapi?connect_timeout=12")
    assert got["timeout"] == 12.0
    _, got = credentials("root:@tcp(db:3306)/newapi?timeout=12s")
    assert got["connect_timeout"] == 12.0


def test_mysql_connect_is_bounded_and_lost_servers_translated() -> None:
    config, got = credentials("root:@tcp(db:3306)/newapi?charset=utf8mb4&parseTime=True")
    assert config["engine"] == "newapi.db.mysql"
    assert got["connect_timeout"] == CONNECT_TIMEOUT


@pytest.mark.parametrize("code", [2002, 2003, 2006, 2013, 2055])
async def test_a_lost_mysql_server_is_db_connection_error(code: int) -> None:
    async def fail() -> None:
        # Tortoise's MySQL client wraps the driver's error as its argument.
        raise OperationalError(asyncmy.errors.OperationalError(code, "Lost connection"))

    with pytest.raises(DBConnectionError, match=r"^database unavailable: OperationalError$"):
        await translated(fail())


async def test_a_mysql_sql_error_is_left_as_it_is() -> None:
    async def fail() -> None:
        raise OperationalError(asyncmy.errors.ProgrammingError(1064, "You have an error"))

    with pytest.raises(OperationalError):
        await translated(fail())


@pytest.mark.parametrize(
    "lost",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.InterfaceError("cannot call Transaction.rollback(): the connection is closed"),
    ],
)
async def test_a_lost_server_is_db_connection_error_named_by_type(lost: Exception) -> None:
    async def fail() -> None:
        raise lost

    with pytest.raises(DBConnectionError) as caught:
        await translated(fail())
    assert str(caught.value) == f"database unavailable: {type(lost).__name__}"
    assert caught.value.__cause__ is lost


async def test_sql_errors_are_left_as_they_are() -> None:
    async def fail() -> None:
        raise OperationalError("syntax error at or near")

    with pytest.raises(OperationalError):
        await translated(fail())
