"""Tortoise configuration built from :class:`~newapi.config.Settings`."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import unquote

from tortoise.backends.base.config_generator import expand_db_url

from newapi.config import Database, Settings

MAIN_APP = "models"
LOGS_APP = "logs"
# Connection names. With LOG_SQL_DSN there are two, and Tortoise then needs a name for every
# ``in_transaction()``: pass MAIN_CONNECTION (or a model's ``_meta.default_connection``).
MAIN_CONNECTION = "default"
LOGS_CONNECTION = "logs"
_SECONDS = ("timeout", "connect_timeout")
# Bounds on a server that is down or hung, unless the DSN sets its own: seconds to connect and
# seconds for one statement (asyncpg's defaults are 60 s and no limit at all).
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 30.0
# Tortoise's engines with a lost server translated to DBConnectionError (newapi.db.lost).
ENGINES = {"postgres": "newapi.db.postgres", "mysql": "newapi.db.mysql"}


def _mysql_tls(mode: str) -> ssl.SSLContext:
    """go-sql-driver's ``tls=true`` verifies the server; ``tls=skip-verify`` only encrypts."""
    context = ssl.create_default_context()
    if mode == "skip-verify":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _numbers_not_decimals(conn: Any) -> None:
    """Read PostgreSQL ``numeric`` as int or float, never ``Decimal``.

    GORM made Go's float64 columns ``decimal`` on PostgreSQL (``channels.balance``,
    ``top_ups.money``) and ``SUM(bigint)`` is ``numeric`` too; the models and the JSON encoder
    expect plain numbers, as new-api returns them.
    """
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_number, format="text"
    )


def _option(db: Database, name: str, value: str) -> Any:
    if name in _SECONDS:
        return float(value)
    if name == "ssl" and db.engine == "mysql":
        return _mysql_tls(value)
    return value  # asyncpg takes sslmode names (``require``...) as they are


def connection_config(db: Database, pool_size: int) -> str | dict[str, Any]:
    """One Tortoise connection: a URL for SQLite, engine and credentials for the others.

    Credentials are spelled out because a URL cannot carry what some DSNs ask for (asyncpg's
    ``ssl`` mode, server settings, a TLS context) and Tortoise leaves a percent-encoded user or
    database name encoded.
    """
    if db.engine == "sqlite":
        return db.url
    config = expand_db_url(db.url)
    credentials: dict[str, Any] = config["credentials"]
    for name in ("user", "database"):
        if credentials.get(name):
            credentials[name] = unquote(credentials[name])
    credentials["minsize"] = 1
    credentials["maxsize"] = pool_size
    for name, value in db.options:
        credentials[name] = _option(db, name, value)
    if db.server_settings:
        credentials["server_settings"] = dict(db.server_settings)
    if db.engine == "postgres":
        credentials["init"] = _numbers_not_decimals
        credentials.setdefault("timeout", CONNECT_TIMEOUT)
        credentials.setdefault("command_timeout", COMMAND_TIMEOUT)
    if db.engine == "mysql":
        credentials.setdefault("connect_timeout", CONNECT_TIMEOUT)
    config["engine"] = ENGINES[db.engine]
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """Two apps: ``models`` on the main database, ``logs`` on ``LOG_SQL_DSN`` or the main one."""
    pool = min(settings.sql_max_open_conns, 20)
    connections: dict[str, Any] = {MAIN_CONNECTION: connection_config(settings.database, pool)}
    if settings.log_database is not None:
        connections[LOGS_CONNECTION] = connection_config(settings.log_database, pool)
    return {
        "connections": connections,
        "apps": {
            MAIN_APP: {
                "models": ["newapi.models", "aerich.models"],
                "default_connection": MAIN_CONNECTION,
            },
            LOGS_APP: {
                "models": ["newapi.models.log"],
                "default_connection": LOGS_CONNECTION if settings.log_database else MAIN_CONNECTION,
            },
        },
        "use_tz": False,
        "timezone": "UTC",
    }
