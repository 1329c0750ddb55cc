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
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from aerich.migrate import Migrate
from aerich.utils import import_py_file
from asyncmy.errors import MySQLError
from tortoise import BaseDBAsyncClient, Tortoise
from tortoise.exceptions import BaseORMException, DBConnectionError

from newapi.config import Settings
from newapi.db.connection import (
    LOGS_APP,
    LOGS_CONNECTION,
    MAIN_APP,
    MAIN_CONNECTION,
    tortoise_config,
)
from newapi.db.schema import (
    Dialect,
    IndexSpec,
    TableSpec,
    add_column_sql,
    create_index_sql,
    parse_schema,
)

log = logging.getLogger(__name__)

_ADD_COLUMN = re.compile(r'ALTER TABLE [`"](\w+)[`"] ADD (?:COLUMN )?[`"](\w+)[`"] ([^;]+);')


class SchemaMismatch(RuntimeError):
    """The database lacks columns or tables that this version of newapi needs."""


class AdoptionFailed(RuntimeError):
    """An existing table could not be given a column or index it lacks."""


# A statement the database refused: Tortoise translates only some drivers' errors.
STATEMENT_ERRORS: tuple[type[BaseException], ...] = (
    BaseORMException,
    asyncpg.PostgresError,
    MySQLError,
    sqlite3.Error,
)
# What connecting to or migrating a database raises when it is unreachable, refuses us or is
# stale: the CLI reports these as one line instead of a traceback.
FAILURES: tuple[type[BaseException], ...] = (
    SchemaMismatch,
    AdoptionFailed,
    OSError,
    asyncpg.InterfaceError,
    *STATEMENT_ERRORS,
)
BOOKKEEPING = frozenset({"aerich"})  # aerich's own table: not needed to serve
_RUN_MIGRATE = "run `newapi migrate` on the master node"


@dataclass(frozen=True, slots=True)
class AppMigration:
    app: str
    connection: str
    dialect: Dialect


def migrations_root(override: str = "") -> Path:
    """``NEWAPI_MIGRATIONS_DIR`` (``Settings.migrations_dir``), else the source tree's."""
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "migrations"


def expected_schema(root: Path, dialect: Dialect, app: str) -> dict[str, TableSpec]:
    """What the migration files of ``app`` declare, folded in version order."""
    tables: dict[str, TableSpec] = {}
    folder = root / dialect / app
    files = sorted(folder.glob("[0-9]*_*.py"), key=lambda p: int(p.name.split("_", 1)[0]))
    if not files:
        # Without this, a wrong NEWAPI_MIGRATIONS_DIR would "migrate" nothing and verify nothing.
        raise FileNotFoundError(f"no migration files in {folder} (check NEWAPI_MIGRATIONS_DIR)")
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
) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Existing tables with their columns, and the existing indexes as (table, name)."""
    rows: list[dict[str, Any]]
    if dialect == "sqlite":
        names = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='table'")
        tables: dict[str, set[str]] = {}
        for row in names:
            info = await conn.execute_query_dict(f'PRAGMA table_info("{row["name"]}")')
            tables[row["name"]] = {c["name"] for c in info}
        rows = await conn.execute_query_dict(
            "SELECT tbl_name AS t, name FROM sqlite_master WHERE type='index'"
        )
        return tables, {(r["t"], r["name"]) for r in rows}
    if dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        indexes = await conn.execute_query_dict(
            "SELECT tablename AS t, indexname AS name FROM pg_indexes "
            "WHERE schemaname = current_schema()"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = DATABASE()"
        )
        indexes = await conn.execute_query_dict(
            "SELECT DISTINCT table_name AS t, index_name AS name "
            "FROM information_schema.statistics WHERE table_schema = DATABASE()"
        )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["t"], set()).add(row["c"])
    return found, {(r["t"], r["name"]) for r in indexes}


def _has_index(dialect: Dialect, indexes: set[tuple[str, str]], index: IndexSpec) -> bool:
    """MySQL scopes index names to their table; SQLite and PostgreSQL to the schema."""
    if dialect == "mysql":
        return (index.table, index.name) in indexes
    return any(name == index.name for _, name in indexes)


async def adopt(
    conn: BaseDBAsyncClient, dialect: Dialect, expected: dict[str, TableSpec]
) -> list[str]:
    """Add what existing tables lack (columns first, then indexes); return the statements run.

    A statement the database refuses stops the migration with :class:`AdoptionFailed`, as
    new-api's AutoMigrate stops: what was added stays, and a rerun continues from there.
    """
    tables, indexes = await _existing(conn, dialect)
    columns: list[str] = []
    wanted: list[IndexSpec] = []
    for spec in expected.values():
        present = tables.get(spec.name)
        if present is None:
            continue  # a missing table is the upgrade's job
        for column, definition in spec.columns.items():
            if column not in present:
                columns += add_column_sql(dialect, spec.name, column, definition)
                present.add(column)
        wanted += [
            index
            for index in spec.indexes
            if set(index.columns) <= present and not _has_index(dialect, indexes, index)
        ]
    statements = columns + [create_index_sql(dialect, index) for index in wanted]
    for statement in statements:
        log.info("adopting existing schema: %s", statement)
        try:
            await conn.execute_script(statement)
        except STATEMENT_ERRORS as exc:
            raise AdoptionFailed(f"the database refused `{statement}`: {exc}") from exc
    return statements


async def verify(conn: BaseDBAsyncClient, dialect: Dialect, expected: dict[str, TableSpec]) -> None:
    """Raise :class:`SchemaMismatch` naming every table or column the database lacks."""
    tables, _ = await _existing(conn, dialect)
    needed = [spec for spec in expected.values() if spec.name not in BOOKKEEPING]
    if needed and not any(spec.name in tables for spec in needed):
        raise SchemaMismatch(f"the database has none of newapi's tables ({_RUN_MIGRATE})")
    problems = []
    for spec in needed:
        present = tables.get(spec.name)
        if present is None:
            problems.append(f"table {spec.name} is missing")
            continue
        missing = sorted(set(spec.columns) - present)
        if missing:
            problems.append(f"{spec.name} lacks {', '.join(missing)}")
    if problems:
        raise SchemaMismatch(
            f"database schema is out of date ({_RUN_MIGRATE}): " + "; ".join(problems)
        )


def _plan(settings: Settings) -> list[AppMigration]:
    logs_db = settings.log_database or settings.database
    return [
        AppMigration(MAIN_APP, MAIN_CONNECTION, settings.database.engine),
        AppMigration(
            LOGS_APP,
            LOGS_CONNECTION if settings.log_database else MAIN_CONNECTION,
            logs_db.engine,
        ),
    ]


async def migrate(settings: Settings, root: Path | None = None) -> list[str]:
    """Adopt, upgrade and verify every app; return the migration versions applied."""
    root = root or migrations_root(settings.migrations_dir)
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
            await _create_missing_tables(conn, step, root, expected)
            await verify(conn, step.dialect, expected)
    finally:
        await Tortoise.close_connections()
    return applied


async def _create_missing_tables(
    conn: BaseDBAsyncClient, step: AppMigration, root: Path, expected: dict[str, TableSpec]
) -> None:
    """Re-run an app's initial migration where its tables are missing despite aerich's record.

    aerich records versions in the main database, so a ``logs`` app moved to a new
    ``LOG_SQL_DSN`` database looks migrated while that database is empty. The initial migration
    only creates what is missing, so running it again is safe; adoption then adds the columns
    of any later migration.
    """
    tables, _ = await _existing(conn, step.dialect)
    if all(name in tables or name in BOOKKEEPING for name in expected):
        return
    initial = sorted((root / step.dialect / step.app).glob("0_*.py"))
    if not initial:
        return
    module = import_py_file(initial[0])
    log.info("creating missing %s tables from %s", step.app, initial[0].name)
    await conn.execute_script(await module.upgrade(conn))
    await adopt(conn, step.dialect, expected)


async def check(settings: Settings, root: Path | None = None) -> None:
    """Verify only, on Tortoise's open connections (the app's start-up)."""
    root = root or migrations_root(settings.migrations_dir)
    for step in _plan(settings):
        conn = Tortoise.get_connection(step.connection)
        await verify(conn, step.dialect, expected_schema(root, step.dialect, step.app))


async def check_database(settings: Settings, root: Path | None = None) -> None:
    """Connect, verify and disconnect: a start without migrating (a slave node) refuses early."""
    await Tortoise.init(config=tortoise_config(settings))
    try:
        await check(settings, root)
    finally:
        await Tortoise.close_connections()


def failure_message(error: BaseException) -> str:
    """One line for a :data:`FAILURES` error, with the driver's reason when Tortoise wraps it."""
    text = str(error) or type(error).__name__
    cause = error.__cause__ or error.__context__
    if isinstance(error, DBConnectionError) and cause is not None and str(cause) not in text:
        text = f"{text.split(':', 1)[0]}: {cause}"
    return " ".join(text.split())
