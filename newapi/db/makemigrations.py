"""Write the initial migration of each app for each engine: ``python -m newapi.db.makemigrations``.

The SQL comes from Tortoise's schema generator in safe mode (``CREATE ... IF NOT EXISTS``), so
running it against an existing new-api database leaves existing tables and rows alone. No
database is contacted: Tortoise needs a URL only to pick the dialect.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tortoise import Tortoise
from tortoise.utils import get_schema_sql

from newapi.db.connection import LOGS_APP, MAIN_APP
from newapi.db.schema import Dialect, abilities_sql

PLACEHOLDER_URLS: dict[Dialect, str] = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://placeholder@127.0.0.1:1/placeholder",
    "mysql": "mysql://placeholder@127.0.0.1:1/placeholder",
}
INIT_NAME = "0_20261128000000_init.py"
TEMPLATE = '''"""Initial schema: new-api's tables, created only where missing ({dialect})."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
{sql}
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Never drop tables: they may belong to a new-api deployment that was adopted.
    return """SELECT 1;"""
'''


async def render(dialect: Dialect) -> dict[str, str]:
    """The init migration text of each app for ``dialect``."""
    url = PLACEHOLDER_URLS[dialect]
    await Tortoise.init(
        config={
            "connections": {"default": url, "logs": url},
            "apps": {
                MAIN_APP: {
                    "models": ["newapi.models", "aerich.models"],
                    "default_connection": "default",
                },
                LOGS_APP: {"models": ["newapi.models.log"], "default_connection": "logs"},
            },
        }
    )
    try:
        main_sql = get_schema_sql(Tortoise.get_connection("default"), safe=True)
        logs_sql = get_schema_sql(Tortoise.get_connection("logs"), safe=True)
    finally:
        await Tortoise.close_connections()
    main_sql = main_sql + "\n" + abilities_sql(dialect)
    return {
        MAIN_APP: TEMPLATE.format(dialect=dialect, sql=main_sql.replace("\\", "\\\\")),
        LOGS_APP: TEMPLATE.format(dialect=dialect, sql=logs_sql.replace("\\", "\\\\")),
    }


async def write_all(root: Path) -> list[Path]:
    written = []
    for dialect in PLACEHOLDER_URLS:
        for app, text in (await render(dialect)).items():
            path = root / dialect / app / INIT_NAME
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "migrations")
    for written_path in asyncio.run(write_all(target)):
        print(written_path)
