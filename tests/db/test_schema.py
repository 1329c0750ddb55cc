"""The committed migrations against the models, and the pure SQL helpers of ``newapi.db.schema``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tortoise.models import Model

import newapi.models
from newapi.db.connection import LOGS_APP, MAIN_APP
from newapi.db.makemigrations import INIT_NAME
from newapi.db.migrate import expected_schema, migrations_root
from newapi.db.schema import (
    Dialect,
    IndexSpec,
    add_column_sql,
    create_index_sql,
    parse_schema,
)
from tests.db.newapi_schema import ROOT

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgres", "mysql")
MODELS: tuple[type[Model], ...] = tuple(getattr(newapi.models, n) for n in newapi.models.__all__)
ABILITY_COLUMNS = {"group", "model", "channel_id", "enabled", "priority", "weight", "tag"}
ABILITY_INDEXES = {f"idx_abilities_{c}" for c in ("channel_id", "priority", "weight", "tag")}


def model_columns(model: type[Model]) -> set[str]:
    """The column names a model reads and writes (``source_field`` where it renames one)."""
    return {field.source_field or name for name, field in model._meta.fields_map.items()}


def app_of(model: type[Model]) -> str:
    return LOGS_APP if model._meta.app == LOGS_APP else MAIN_APP


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_migrations_declare_every_model_column_and_index(
    dialect: Dialect, model: type[Model]
) -> None:
    tables = expected_schema(migrations_root(), dialect, app_of(model))
    spec = tables[model._meta.db_table]
    assert set(spec.columns) == model_columns(model)
    assert {i.name for i in model._meta.indexes} <= {i.name for i in spec.indexes}


def test_channel_organization_keeps_new_apis_column_name() -> None:
    assert "open_ai_organization" in model_columns(newapi.models.Channel)
    for dialect in DIALECTS:
        assert (
            "open_ai_organization"
            in expected_schema(migrations_root(), dialect, MAIN_APP)["channels"].columns
        )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_abilities_table_has_its_composite_key_columns_and_indexes(dialect: Dialect) -> None:
    main = expected_schema(migrations_root(), dialect, MAIN_APP)
    abilities = main["abilities"]
    assert set(abilities.columns) == ABILITY_COLUMNS
    assert {i.name for i in abilities.indexes} == ABILITY_INDEXES
    assert all("NOT NULL" in abilities.columns[c] for c in ("group", "model", "channel_id"))
    assert "logs" not in main  # logs belong to the logs app (LOG_SQL_DSN)
    # the writer's applied ids live beside the log rows they guard (one transaction)
    logs_app = set(expected_schema(migrations_root(), dialect, LOGS_APP))
    assert logs_app == {"logs", "applied_log_settlements"}


def test_committed_migrations_equal_what_the_models_generate(tmp_path: Path) -> None:
    """Editing a model without ``python -m newapi.db.makemigrations`` fails here."""
    # A process of its own: rendering initialises Tortoise once per dialect.
    subprocess.run(
        [sys.executable, "-m", "newapi.db.makemigrations", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob(INIT_NAME))
    assert len(generated) == len(DIALECTS) * 2
    for relative in generated:
        committed = migrations_root() / relative
        assert committed.read_text() == (tmp_path / relative).read_text(), (
            f"{relative} is stale: run `.venv/bin/python -m newapi.db.makemigrations`"
        )


# --- pure helpers ---------------------------------------------------------------------------


def test_parse_schema_reads_inline_mysql_keys_and_separate_indexes() -> None:
    sql = """
CREATE TABLE IF NOT EXISTS `t` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `name` VARCHAR(191) DEFAULT '',
    `key` VARCHAR(128) NOT NULL UNIQUE,
    PRIMARY KEY (`id`),
    UNIQUE KEY `uid_t_name` (`name`, `key`),
    KEY `idx_t_name` (`name`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS "u" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "group" VARCHAR(64) DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS "idx_u_group" ON "u" ("group");
CREATE UNIQUE INDEX IF NOT EXISTS "uid_u_id_group" ON "u" ("id", "group");
"""
    tables = parse_schema(sql)
    assert list(tables["t"].columns) == ["id", "name", "key"]
    assert tables["t"].columns["key"] == "VARCHAR(128) NOT NULL UNIQUE"
    assert tables["t"].indexes == [
        IndexSpec("uid_t_name", "t", ("name", "key"), unique=True),
        IndexSpec("idx_t_name", "t", ("name",)),
    ]
    assert tables["u"].columns == {
        "id": "BIGSERIAL NOT NULL PRIMARY KEY",
        "group": "VARCHAR(64) DEFAULT 'default'",
    }
    assert tables["u"].indexes == [
        IndexSpec("idx_u_group", "u", ("group",)),
        IndexSpec("uid_u_id_group", "u", ("id", "group"), unique=True),
    ]


def test_add_column_drops_not_null_without_a_default() -> None:
    # Existing rows would have no value for it.
    assert add_column_sql("postgres", "users", "secret", "TEXT NOT NULL") == [
        'ALTER TABLE "users" ADD COLUMN "secret" TEXT'
    ]
    assert add_column_sql("mysql", "users", "role", "INT NOT NULL DEFAULT 1") == [
        "ALTER TABLE `users` ADD COLUMN `role` INT NOT NULL DEFAULT 1"
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_add_unique_column_adds_a_unique_index_instead(dialect: Dialect) -> None:
    # SQLite cannot ADD a UNIQUE column; the others get the same shape for one code path.
    statements = add_column_sql(dialect, "tokens", "key", "VARCHAR(128) NOT NULL UNIQUE")
    q = (lambda n: f"`{n}`") if dialect == "mysql" else (lambda n: f'"{n}"')
    exists = "" if dialect == "mysql" else "IF NOT EXISTS "
    assert statements == [
        f"ALTER TABLE {q('tokens')} ADD COLUMN {q('key')} VARCHAR(128)",
        f"CREATE UNIQUE INDEX {exists}{q('uniq_tokens_key')} ON {q('tokens')} ({q('key')})",
    ]


def test_add_column_sql_runs_on_a_non_empty_sqlite_table() -> None:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute('CREATE TABLE "tokens" ("id" INTEGER PRIMARY KEY)')
        conn.execute('INSERT INTO "tokens" ("id") VALUES (1), (2)')
        for statement in add_column_sql("sqlite", "tokens", "key", "VARCHAR(128) NOT NULL UNIQUE"):
            conn.execute(statement)
        conn.execute('UPDATE "tokens" SET "key" = \'a\' WHERE "id" = 1')
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute('UPDATE "tokens" SET "key" = \'a\' WHERE "id" = 2')


def test_create_index_sql_per_dialect() -> None:
    index = IndexSpec("idx_logs_user_id_id", "logs", ("user_id", "id"))
    assert create_index_sql("mysql", index) == (
        "CREATE INDEX `idx_logs_user_id_id` ON `logs` (`user_id`, `id`)"
    )
    assert create_index_sql("sqlite", index) == (
        'CREATE INDEX IF NOT EXISTS "idx_logs_user_id_id" ON "logs" ("user_id", "id")'
    )
