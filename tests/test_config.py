"""Environment -> Settings, and every DSN form new-api accepts -> engine and Tortoise connection.

Pure: nothing connects. ``connection_config`` is checked too, because what matters is what the
driver finally receives (a password with ``@`` and ``/`` in it, asyncpg's ``ssl`` mode, ...).
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from newapi.config import (
    ConfigError,
    Database,
    load_settings,
    parse_dsn,
)
from newapi.db.connection import connection_config, tortoise_config

DEFAULT_SQLITE = "one-api.db?_busy_timeout=30000"


def credentials(db: Database) -> dict[str, Any]:
    config = connection_config(db, 7)
    assert isinstance(config, dict)
    return config["credentials"]


def refused(variable: str, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert message.startswith(f"invalid {variable}: ") and "\n" not in message
    assert caught.value.variable == variable
    return message


# --- SQLite -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dsn", ["", "local", "local-sqlite", "  "])
def test_empty_or_local_dsn_is_sqlite_at_sqlite_path(dsn: str) -> None:
    db = parse_dsn("SQL_DSN", dsn, DEFAULT_SQLITE)
    assert db == Database("sqlite", "sqlite://one-api.db?busy_timeout=30000")
    assert connection_config(db, 7) == db.url  # Tortoise runs each query option as a PRAGMA


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/data/one-api.db", "sqlite:///data/one-api.db?busy_timeout=30000"),
        ("data/one-api.db?_busy_timeout=5000", "sqlite://data/one-api.db?busy_timeout=5000"),
        (
            "file:x.db?cache=shared&_journal_mode=WAL",
            "sqlite://x.db?journal_mode=WAL&busy_timeout=30000",
        ),
        (
            "x.db?_pragma=busy_timeout(9000)&_pragma=synchronous(NORMAL)",
            "sqlite://x.db?busy_timeout=9000&synchronous=NORMAL",
        ),
    ],
)
def test_sqlite_path_options_become_pragmas(path: str, url: str) -> None:
    assert parse_dsn("SQL_DSN", "", path).url == url


def test_sqlite_path_defaults_and_rejects_injected_pragmas() -> None:
    assert load_settings({}).database.url == "sqlite://one-api.db?busy_timeout=30000"
    assert load_settings({"SQLITE_PATH": ""}).database.engine == "sqlite"
    message = refused("SQLITE_PATH", {"SQLITE_PATH": "x.db?_busy_timeout=1;DROP TABLE users"})
    assert "busy_timeout" in message
    refused("SQLITE_PATH", {"SQLITE_PATH": "?_busy_timeout=5"})


# --- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_url_with_encoded_special_characters_and_options() -> None:
    dsn = (
        "postgres://new%20api:p%40ss%2Fw%3Ard%25@db.example.com:5433/newapi"
        "?sslmode=require&connect_timeout=10&application_name=gw&TimeZone=Asia/Shanghai"
    )
    db = parse_dsn("SQL_DSN", dsn, DEFAULT_SQLITE)
    assert db.engine == "postgres"
    assert db.url == "postgres://new%20api:p%40ss%2Fw%3Ard%25@db.example.com:5433/newapi"
    assert db.display == "postgres://new%20api:***@db.example.com:5433/newapi"
    got = credentials(db)
    assert (got["user"], got["password"]) == ("new api", "p@ss/w:rd%")
    assert (got["host"], got["port"], got["database"]) == ("db.example.com", 5433, "newapi")
    assert (got["ssl"], got["timeout"], got["application_name"]) == ("require", 10.0, "gw")
    assert got["server_settings"] == {"TimeZone": "Asia/Shanghai"}
    assert (got["minsize"], got["maxsize"]) == (1, 7)


def test_postgresql_scheme_unescaped_at_sign_and_default_port() -> None:
    db = parse_dsn("SQL_DSN", "postgresql://root:p@ss@postgres/new-api", DEFAULT_SQLITE)
    assert db.engine == "postgres"
    got = credentials(db)
    assert (got["user"], got["password"], got["host"]) == ("root", "p@ss", "postgres")
    assert (got["port"], got["database"]) == (5432, "new-api")


def test_postgres_unix_socket_host_and_no_password() -> None:
    db = parse_dsn("SQL_DSN", "postgres://app@/newapi?host=/run/postgresql", DEFAULT_SQLITE)
    got = credentials(db)
    assert (got["host"], got["user"], got["password"]) == ("/run/postgresql", "app", None)


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("postgres://user@db.example.com:5432", "no database"),
        ("postgres://user@db.example.com/", "no database"),
        ("postgres:///newapi", "no host"),
        ("postgres://user@db:port/newapi", "malformed"),
        ("postgres://user@db/newapi?sslmode=sometimes", "sslmode"),
        ("postgres://user@db/newapi?sslrootcert=/ca.pem", "sslrootcert"),
        ("postgres://user@db/newapi?connect_timeout=soon", "connect_timeout"),
    ],
)
def test_bad_postgres_urls_are_refused(dsn: str, problem: str) -> None:
    assert problem in refused("SQL_DSN", {"SQL_DSN": dsn})


# --- MySQL / MariaDB --------------------------------------------------------------------------


def test_go_mysql_dsn_as_new_api_documents_it() -> None:
    dsn = "root:123456@tcp(localhost:3306)/new-api?charset=utf8mb4&parseTime=True&loc=Local"
    db = parse_dsn("SQL_DSN", dsn, DEFAULT_SQLITE)
    assert db == Database("mysql", "mysql://root:123456@localhost:3306/new-api?charset=utf8mb4")
    got = credentials(db)
    assert (got["user"], got["password"], got["host"], got["port"]) == (
        "root",
        "123456",
        "localhost",
        3306,
    )
    assert (got["database"], got["charset"]) == ("new-api", "utf8mb4")


def test_go_mysql_password_keeps_at_colon_slash_and_percent() -> None:
    # go-sql-driver splits at the last "/" and the last "@" before it, and decodes nothing.
    dsn = "admin@server:p@ss:w/rd?%41@tcp(db:3307)/newapi?parseTime=true"
    got = credentials(parse_dsn("SQL_DSN", dsn, DEFAULT_SQLITE))
    assert (got["user"], got["password"]) == ("admin@server", "p@ss:w/rd?%41")
    assert (got["host"], got["port"], got["database"]) == ("db", 3307, "newapi")


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("root:@tcp(127.0.0.1:3306)/db", "mysql://root@127.0.0.1:3306/db?charset=utf8mb4"),
        ("root@tcp(mysql)/db", "mysql://root@mysql:3306/db?charset=utf8mb4"),
        ("root:pw@/db", "mysql://root:pw@127.0.0.1:3306/db?charset=utf8mb4"),
        ("u@tcp([::1]:3306)/db", "mysql://u@[::1]:3306/db?charset=utf8mb4"),
        ("mysql://u:p%40ss@db:3307/newapi", "mysql://u:p%40ss@db:3307/newapi?charset=utf8mb4"),
    ],
)
def test_mysql_forms(dsn: str, url: str) -> None:
    db = parse_dsn("SQL_DSN", dsn, DEFAULT_SQLITE)
    assert (db.engine, db.url) == ("mysql", url)


def test_go_mysql_tls_and_timeout_reach_the_driver() -> None:
    verify = credentials(parse_dsn("SQL_DSN", "u:p@tcp(db)/x?tls=true&timeout=1m30s", ""))
    assert isinstance(verify["ssl"], ssl.SSLContext)
    assert verify["ssl"].verify_mode == ssl.CERT_REQUIRED and verify["connect_timeout"] == 90.0
    skip = credentials(parse_dsn("SQL_DSN", "u:p@tcp(db)/x?tls=skip-verify&timeout=500ms", ""))
    assert skip["ssl"].verify_mode == ssl.CERT_NONE and skip["connect_timeout"] == 0.5
    plain = credentials(parse_dsn("SQL_DSN", "u:p@tcp(db)/x?tls=false", ""))
    assert "ssl" not in plain


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("root:pw@tcp(db:3306)/", "no database"),
        ("root:pw@tcp(db:3306)", "not a PostgreSQL URL or a MySQL DSN"),
        ("just-a-word", "not a PostgreSQL URL or a MySQL DSN"),
        ("root@unix(/run/mysqld.sock)/db", "unix-socket"),
        ("root@tcp(db:port)/db", "bad MySQL address"),
        ("root@udp(db:3306)/db", "unknown MySQL protocol"),
        ("root@tcp(db)/db?tls=custom-config", "tls=custom-config"),
        ("root@tcp(db)/db?timeout=10", "Go duration"),
        ("mysql://root@/db", "no host"),
    ],
)
def test_bad_mysql_dsns_are_refused(dsn: str, problem: str) -> None:
    assert problem in refused("SQL_DSN", {"SQL_DSN": dsn})


# --- ClickHouse and the log database --------------------------------------------------------


@pytest.mark.parametrize(
    "dsn", ["clickhouse://u@ch:9000/logs", "tcp://ch:9000", "http://ch:8123", "https://ch"]
)
def test_clickhouse_forms_are_rejected_for_the_main_database(dsn: str) -> None:
    assert "ClickHouse" in refused("SQL_DSN", {"SQL_DSN": dsn})


def test_log_database_is_separate_and_named_in_errors() -> None:
    settings = load_settings({"LOG_SQL_DSN": "postgres://u@logs-db/logs"})
    assert settings.database.engine == "sqlite"
    assert settings.log_database is not None and settings.log_database.engine == "postgres"
    config = tortoise_config(settings)
    assert set(config["connections"]) == {"default", "logs"}
    assert config["apps"]["logs"]["default_connection"] == "logs"
    assert config["apps"]["models"]["default_connection"] == "default"
    assert load_settings({}).log_database is None
    assert tortoise_config(load_settings({}))["apps"]["logs"]["default_connection"] == "default"
    refused("LOG_SQL_DSN", {"LOG_SQL_DSN": "clickhouse://ch:9000/logs"})


# --- the other variables --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PORT", "abc", "expected an integer, got 'abc'"),
        ("PORT", "0", "at least 1"),
        ("PORT", "70000", "at most 65535"),
        ("SYNC_FREQUENCY", "-5", "at least 1"),
        ("SQL_MAX_OPEN_CONNS", "1.5", "expected an integer"),
        ("GLOBAL_API_RATE_LIMIT", "lots", "expected an integer"),
        ("DEBUG", "maybe", "expected true or false, got 'maybe'"),
        ("MEMORY_CACHE_ENABLED", "2", "expected true or false"),
        ("CRITICAL_RATE_LIMIT_ENABLE", "enabled", "expected true or false"),
        ("NODE_TYPE", "replica", "expected one of master, slave"),
        ("REDIS_CONN_STRING", "localhost:6379", "redis://"),
    ],
)
def test_bad_values_name_their_variable_in_one_line(
    variable: str, value: str, problem: str
) -> None:
    assert problem in refused(variable, {variable: value})


TRUE_SPELLINGS = ("true", "T", "1", "yes", "on")
FALSE_SPELLINGS = ("FALSE", "f", "0", "no", "off", " ")
BOOLEANS = tuple((raw, True) for raw in TRUE_SPELLINGS) + tuple((r, False) for r in FALSE_SPELLINGS)


@pytest.mark.parametrize(("raw", "expected"), BOOLEANS)
def test_booleans_accept_go_spellings(raw: str, expected: bool) -> None:
    assert load_settings({"DEBUG": raw}).debug is expected


def test_session_secret_rules() -> None:
    assert "random_string" in refused("SESSION_SECRET", {"SESSION_SECRET": "random_string"})
    generated = load_settings({}, random_secret=lambda: "generated-secret")
    assert generated.session_secret == "generated-secret" and generated.session_secret_generated
    assert generated.crypto_secret == "generated-secret"
    given = load_settings({"SESSION_SECRET": "s3cret"})
    assert (given.session_secret, given.crypto_secret) == ("s3cret", "s3cret")
    assert not given.session_secret_generated
    both = load_settings({"SESSION_SECRET": "s3cret", "CRYPTO_SECRET": "other"})
    assert both.crypto_secret == "other"


def test_redis_forces_the_memory_cache_on() -> None:
    assert load_settings({}).memory_cache_enabled is False
    assert load_settings({"MEMORY_CACHE_ENABLED": "true"}).memory_cache_enabled is True
    redis = load_settings(
        {"REDIS_CONN_STRING": "redis://cache:6379/0", "MEMORY_CACHE_ENABLED": "false"}
    )
    assert redis.redis_url == "redis://cache:6379/0" and redis.memory_cache_enabled is True


def test_defaults_follow_new_api() -> None:
    settings = load_settings({})
    assert (settings.port, settings.node_type, settings.is_master) == (3000, "master", True)
    assert (settings.sync_frequency, settings.redis_pool_size) == (60, 10)
    assert settings.global_api_rate_limit.count == 360
    assert settings.global_api_rate_limit.duration == 180
    assert (settings.critical_rate_limit.count, settings.critical_rate_limit.duration) == (20, 1200)
    assert settings.max_request_body_bytes == 128 * 1024 * 1024
    assert settings.migrations_dir == ""
    moved = load_settings({"NEWAPI_MIGRATIONS_DIR": "/app/migrations"})
    assert moved.migrations_dir == "/app/migrations"
    slave = load_settings({"NODE_TYPE": "SLAVE"})
    assert slave.node_type == "slave" and not slave.is_master


def test_variable_names_are_every_variable_settings_read() -> None:
    from newapi.config import variable_names

    names = variable_names()
    assert {"SQL_DSN", "REDIS_CONN_STRING", "ERROR_LOG_ENABLED", "NEWAPI_CONSOLE_DIR"} <= names
    assert {"REDIS_POOL_SIZE", "CHANNEL_TEST_FREQUENCY", "STREAMING_TIMEOUT"} <= names
    assert "HOME" not in names
