"""Bring a database to the current schema, adopting an existing new-api database in place.

Order matters:

1. **adopt**: for every table that already exists, add the columns and named indexes it lacks
   (never drop, retype or rename: a new-api node may still be using the database);
2. **upgrade**: aerich applies the migration files not yet recorded in its ``aerich`` table;
   the initial one creates only the tables that are missing;
3. **verify**: every expected column now exists, or :class:`SchemaMismatch` names what is missing.

``serve`` runs all three on a master node; a slave node only verifies and refuses to start on a
stale schema.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aerich import Command
from aerich.migrate import Migrate
from tortoise import BaseDBAsyncClient, Tortoise

from newapi.config import Settings
from newapi.db.connection import LOGS_APP, MAIN_APP, tortoise_config
from newapi.db.schema import (
    Dialect,
    TableSpec,
    add_column_sql,
    create_index_sql,
    parse_schema,
)

log = logging.getLogger(__name__)

_ADD_COLUMN = re.compile(r'ALTER TABLE [`"](\w+)[`"] ADD (?:COLUMN )?[`"](\w+)[`"] ([^;]+);')


class SchemaMismatch(RuntimeError):
    """The database lacks columns or tables that this version of newapi needs."""


@dataclass(frozen=True, slots=True)
class AppMigration:
    app: str
    connection: str
    dialect: Dialect


def migrations_root() -> Path:
    override = os.environ.get("NEWAPI_MIGRATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "migrations"


def expected_schema(root: Path, dialect: Dialect, app: str) -> dict[str, TableSpec]:
    """What the migration files of ``app`` declare, folded in version order."""
    tables: dict[str, TableSpec] = {}
    folder = root / dialect / app
    files = sorted(folder.glob("[0-9]*_*.py"), key=lambda p: int(p.name.split("_", 1)[0]))
    for path in files:
        text = path.read_text(encoding="utf-8")
        upgrade = text.split("async def downgrade", 1)[0]
        tables.update(parse_schema(upgrade))
        for table, column, definition in _ADD_COLUMN.findall(upgrade):
            if table in tables:
                tables[table].columns[column] = definition.strip()
    return tables


async def _existing(
    conn: BaseDBAsyncClient, dialect: Dialect
) -> tuple[dict[str, set[str]], set[str]]:
    """Existing tables with their columns, and the names of existing indexes."""
    rows: list[dict[str, Any]]
    if dialect == "sqlite":
        names = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='table'")
        tables: dict[str, set[str]] = {}
        for row in names:
            info = await conn.execute_query_dict(f'PRAGMA table_info("{row["name"]}")')
            tables[row["name"]] = {c["name"] for c in info}
        indexes = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='index'")
        return tables, {r["name"] for r in indexes}
    if dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        indexes = await conn.execute_query_dict(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = DATABASE()"
        )
        indexes = await conn.execute_query_dict(
            "SELECT DISTINCT index_name AS name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE()"
        )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["t"], set()).add(row["c"])
    return found, {r["name"] for r in indexes}


async def adopt(
    conn: BaseDBAsyncClient, dialect: Dialect, expected: dict[str, TableSpec]
) -> list[str]:
    """Add what existing tables lack; return the statements run."""
    tables, indexes = await _existing(conn, dialect)
    statements: list[str] = []
    for spec in expected.values():
        present = tables.get(spec.name)
        if present is None:
            continue  # a missing table is the upgrade's job
        for column, definition in spec.columns.items():
            if column not in present:
                statements += add_column_sql(dialect, spec.name, column, definition)
                present.add(column)
        for index in spec.indexes:
            if index.name not in indexes and set(index.columns) <= present:
                statements.append(create_index_sql(dialect, index))
                indexes.add(index.name)
    for statement in statements:
        log.info("adopting existing schema: %s", statement)
        await conn.execute_script(statement)
    return statements


async def verify(conn: BaseDBAsyncClient, dialect: Dialect, expected: dict[str, TableSpec]) -> None:
    tables, _ = await _existing(conn, dialect)
    problems = []
    for spec in expected.values():
        present = tables.get(spec.name)
        if present is None:
            problems.append(f"table {spec.name} is missing")
            continue
        missing = sorted(set(spec.columns) - present)
        if missing:
            problems.append(f"{spec.name} lacks {', '.join(missing)}")
    if problems:
        raise SchemaMismatch(
            "database schema is out of date (run `newapi migrate`): " + "; ".join(problems)
        )


def _plan(settings: Settings) -> list[AppMigration]:
    logs_db = settings.log_database or settings.database
    return [
        AppMigration(MAIN_APP, "default", settings.database.engine),
        AppMigration(LOGS_APP, "logs" if settings.log_database else "default", logs_db.engine),
    ]


async def migrate(settings: Settings, root: Path | None = None) -> list[str]:
    """Adopt, upgrade and verify every app; return the migration versions applied."""
    root = root or migrations_root()
    config = tortoise_config(settings)
    applied: list[str] = []
    await Tortoise.init(config=config)
    try:
        for step in _plan(settings):
            conn = Tortoise.get_connection(step.connection)
            expected = expected_schema(root, step.dialect, step.app)
            await adopt(conn, step.dialect, expected)
            command = Command(config, app=step.app, location=str(root / step.dialect))
            await Migrate.init(config, step.app, str(root / step.dialect))
            applied += await command.upgrade(run_in_transaction=True)
            await verify(conn, step.dialect, expected)
    finally:
        await Tortoise.close_connections()
    return applied


async def check(settings: Settings, root: Path | None = None) -> None:
    """Verify only (for slave nodes and a refused start on a stale schema)."""
    root = root or migrations_root()
    for step in _plan(settings):
        conn = Tortoise.get_connection(step.connection)
        await verify(conn, step.dialect, expected_schema(root, step.dialect, step.app))
