"""``python -m newapi``: version, migrate, and refusals that are one line, never a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import newapi
from tests.db.newapi_schema import ROOT, CliRun, run_newapi
from tests.support.gateway import free_port


def one_line(run: CliRun) -> str:
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.output, run.output
    return lines[0]


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_version(tmp_path: Path) -> None:
    run = await run_newapi("version", cwd=tmp_path)
    assert run.code == 0 and one_line(run) == newapi.__version__


async def test_a_bad_port_exits_2_naming_port(tmp_path: Path) -> None:
    run = await run_newapi("serve", cwd=tmp_path, PORT="abc")
    assert run.code == 2
    assert one_line(run) == "newapi: invalid PORT: expected an integer, got 'abc'"
    assert not (tmp_path / "one-api.db").exists()  # refused before touching a database


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SQL_DSN", "clickhouse://ch:9000/newapi"),
        ("SESSION_SECRET", "random_string"),
        ("NODE_TYPE", "replica"),
    ],
)
async def test_bad_settings_exit_2_in_one_line(tmp_path: Path, variable: str, value: str) -> None:
    run = await run_newapi("migrate", cwd=tmp_path, **{variable: value})
    assert run.code == 2 and one_line(run).startswith(f"newapi: invalid {variable}: ")


async def test_migrate_creates_then_leaves_alone(tmp_path: Path) -> None:
    db = tmp_path / "data" / "one-api.db"
    db.parent.mkdir()
    first = await run_newapi("migrate", cwd=tmp_path, SQLITE_PATH=f"{db}?_busy_timeout=5000")
    assert first.code == 0, first.output
    assert "2 migration(s) applied" in first.output
    assert {"users", "tokens", "channels", "abilities", "logs", "setups", "aerich"} <= tables(db)
    second = await run_newapi("migrate", cwd=tmp_path, SQLITE_PATH=str(db))
    assert second.code == 0 and "0 migration(s) applied" in second.output


async def test_migrate_reports_an_unreachable_database_without_secrets(tmp_path: Path) -> None:
    dsn = f"postgres://newapi:hunter2-secret@127.0.0.1:{free_port()}/newapi"
    run = await run_newapi("migrate", cwd=tmp_path, SQL_DSN=dsn)
    assert run.code == 1
    line = one_line(run)
    assert line.startswith("newapi: ") and "hunter2" not in run.output


async def test_serve_without_migrating_refuses_an_empty_database(tmp_path: Path) -> None:
    run = await run_newapi("serve", "--no-migrate", cwd=tmp_path, PORT=str(free_port()))
    assert run.code == 1 and "newapi migrate" in one_line(run)
    assert not {"users", "aerich"} & tables(tmp_path / "one-api.db")


async def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "hypercorn.toml"
    config.write_text("workers = 2\n")
    run = await run_newapi(
        "serve", cwd=tmp_path, PORT=str(free_port()), HYPERCORN_CONFIG=str(config)
    )
    assert run.code == 1
    assert one_line(run).startswith("newapi: workers = 2 in ") and "REDIS_CONN_STRING" in run.output
    assert not (tmp_path / "one-api.db").exists()  # refused before touching a database


async def test_no_command_prints_usage(tmp_path: Path) -> None:
    run = await run_newapi(cwd=tmp_path)
    assert run.code == 2 and "usage: newapi" in run.output and "Traceback" not in run.output


async def test_migrations_dir_can_move_and_must_exist(tmp_path: Path) -> None:
    moved = tmp_path / "app-migrations"
    shutil.copytree(ROOT / "migrations", moved)
    run = await run_newapi("migrate", cwd=tmp_path, NEWAPI_MIGRATIONS_DIR=str(moved))
    assert run.code == 0 and "users" in tables(tmp_path / "one-api.db"), run.output
    missing = await run_newapi("migrate", cwd=tmp_path, NEWAPI_MIGRATIONS_DIR=str(tmp_path / "no"))
    assert missing.code == 1 and "NEWAPI_MIGRATIONS_DIR" in one_line(missing)
