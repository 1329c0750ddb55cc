"""Tortoise configuration built from :class:`~newapi.config.Settings`."""

from __future__ import annotations

from typing import Any

from newapi.config import Database, Settings

MAIN_APP = "models"
LOGS_APP = "logs"


def _credentials(db: Database, pool_size: int) -> dict[str, Any]:
    if db.engine == "sqlite":
        return {"db_url": db.url}
    # Tortoise takes pool sizes as URL parameters.
    sep = "&" if "?" in db.url else "?"
    return {"db_url": f"{db.url}{sep}minsize=1&maxsize={pool_size}"}


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """Two apps: ``models`` on the main database, ``logs`` on ``LOG_SQL_DSN`` or the main one."""
    pool = min(settings.sql_max_open_conns, 50)
    connections: dict[str, Any] = {"default": _credentials(settings.database, pool)["db_url"]}
    if settings.log_database is not None:
        connections["logs"] = _credentials(settings.log_database, pool)["db_url"]
    return {
        "connections": connections,
        "apps": {
            MAIN_APP: {
                "models": ["newapi.models", "aerich.models"],
                "default_connection": "default",
            },
            LOGS_APP: {
                "models": ["newapi.models.log"],
                "default_connection": "logs" if settings.log_database else "default",
            },
        },
        "use_tz": False,
        "timezone": "UTC",
    }
