"""Typed settings, read once from environment variables with new-api's names and defaults.

Nothing else in the package reads ``os.environ``: the app, the CLI and the migrations take a
:class:`Settings`. An invalid value raises :class:`ConfigError`, whose message is one line that
names the variable, and start-up stops with it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit

log = logging.getLogger(__name__)

Engine = Literal["sqlite", "postgres", "mysql"]
T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """An environment variable holds a value newapi cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"invalid {variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Database:
    """Where one database lives, as Tortoise wants it."""

    engine: Engine
    url: str  # a Tortoise connection URL

    @property
    def display(self) -> str:
        """The URL with any password hidden, safe to log."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url


@dataclass(frozen=True, slots=True)
class RateLimit:
    enabled: bool
    count: int
    duration: int  # seconds


@dataclass(frozen=True, slots=True)
class Settings:
    port: int = 3000
    database: Database = field(default_factory=lambda: Database("sqlite", "sqlite://one-api.db"))
    log_database: Database | None = None
    redis_url: str = ""
    redis_pool_size: int = 10
    memory_cache_enabled: bool = False
    session_secret: str = ""
    session_secret_generated: bool = False
    crypto_secret: str = ""
    sync_frequency: int = 60
    node_type: Literal["master", "slave"] = "master"
    node_name: str = ""
    max_request_body_mb: int = 128
    sql_max_open_conns: int = 1000
    global_api_rate_limit: RateLimit = RateLimit(True, 180, 180)
    critical_rate_limit: RateLimit = RateLimit(True, 20, 1200)
    search_rate_limit: RateLimit = RateLimit(True, 10, 60)
    generate_default_token: bool = False
    debug: bool = False
    hypercorn_config: str = "hypercorn.toml"

    @property
    def is_master(self) -> bool:
        return self.node_type == "master"

    @property
    def max_request_body_bytes(self) -> int:
        return self.max_request_body_mb * 1024 * 1024


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = _get(env, name)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name).lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def _rate_limit(env: Mapping[str, str], prefix: str, count: int, duration: int) -> RateLimit:
    return RateLimit(
        enabled=_bool(env, f"{prefix}_ENABLE", True),
        count=_int(env, prefix, count, minimum=1),
        duration=_int(env, f"{prefix}_DURATION", duration, minimum=1),
    )


def _sqlite_url(path: str) -> str:
    """new-api's SQLITE_PATH may carry go-sqlite query options; Tortoise wants a bare path."""
    bare = path.split("?", 1)[0]
    if not bare:
        raise ConfigError("SQLITE_PATH", "empty path")
    return f"sqlite://{bare}"


def _go_mysql_url(variable: str, dsn: str) -> str:
    """``user:pass@tcp(host:port)/db?params`` (go-sql-driver) -> ``mysql://user:pass@host:port/db``."""
    creds, sep, rest = dsn.rpartition("@")
    if not sep:
        creds, rest = "", dsn
    if rest.startswith("tcp(") and ")" in rest:
        address, _, tail = rest[4:].partition(")")
    elif rest.startswith("unix("):
        raise ConfigError(variable, "unix-socket MySQL DSNs are not supported; use tcp(host:port)")
    else:
        address, slash, tail = rest.partition("/")
        tail = slash + tail
    database = tail.lstrip("/").split("?", 1)[0]
    if not database:
        raise ConfigError(variable, "the MySQL DSN names no database (…/dbname)")
    user, _, password = creds.partition(":")
    auth = quote(unquote(user), safe="")
    if password:
        auth += ":" + quote(unquote(password), safe="")
    host = address or "127.0.0.1:3306"
    if ":" not in host:
        host += ":3306"
    return f"mysql://{auth}@{host}/{database}?charset=utf8mb4"


def parse_dsn(variable: str, dsn: str, sqlite_path: str) -> Database:
    """Map a new-api ``SQL_DSN`` value to a :class:`Database` (reference: admin §1)."""
    dsn = dsn.strip()
    if dsn == "" or dsn.startswith("local"):
        return Database("sqlite", _sqlite_url(sqlite_path))
    lowered = dsn.lower()
    if lowered.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(dsn)
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(variable, "a PostgreSQL DSN needs a host and a database name")
        return Database("postgres", "postgres://" + dsn.split("://", 1)[1])
    if lowered.startswith(("clickhouse://", "tcp://", "http://", "https://")):
        raise ConfigError(variable, "this database kind is not supported for the main database")
    if lowered.startswith("mysql://"):
        parts = urlsplit(dsn)
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(variable, "a MySQL DSN needs a host and a database name")
        base = dsn.split("?", 1)[0]
        return Database("mysql", base + "?charset=utf8mb4")
    if "@" in dsn or dsn.startswith("tcp("):
        return Database("mysql", _go_mysql_url(variable, dsn))
    raise ConfigError(variable, "not a PostgreSQL, MySQL or SQLite DSN")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = _get(env, name, default).lower() or default
    if raw not in choices:
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def load_settings(
    env: Mapping[str, str], *, random_secret: Callable[[], str] = lambda: secrets.token_hex(16)
) -> Settings:
    """Read every setting from ``env``; raise :class:`ConfigError` on the first bad one."""
    sqlite_path = _get(env, "SQLITE_PATH", "one-api.db?_busy_timeout=30000")
    database = parse_dsn("SQL_DSN", _get(env, "SQL_DSN"), sqlite_path)
    log_dsn = _get(env, "LOG_SQL_DSN")
    log_database = parse_dsn("LOG_SQL_DSN", log_dsn, sqlite_path) if log_dsn else None

    session_secret = _get(env, "SESSION_SECRET")
    if session_secret == "random_string":
        raise ConfigError("SESSION_SECRET", "replace the example value 'random_string'")
    generated = session_secret == ""
    if generated:
        session_secret = random_secret()
    redis_url = _get(env, "REDIS_CONN_STRING")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_CONN_STRING", "expected a redis:// or rediss:// URL")
    node_type = _choice(env, "NODE_TYPE", ("master", "slave"), "master")
    return Settings(
        port=_int(env, "PORT", 3000, minimum=1),
        database=database,
        log_database=log_database,
        redis_url=redis_url,
        redis_pool_size=_int(env, "REDIS_POOL_SIZE", 10, minimum=1),
        # As in new-api, Redis forces the memory cache on.
        memory_cache_enabled=_bool(env, "MEMORY_CACHE_ENABLED", False) or bool(redis_url),
        session_secret=session_secret,
        session_secret_generated=generated,
        crypto_secret=_get(env, "CRYPTO_SECRET") or session_secret,
        sync_frequency=_int(env, "SYNC_FREQUENCY", 60, minimum=1),
        node_type="slave" if node_type == "slave" else "master",
        node_name=_get(env, "NODE_NAME"),
        max_request_body_mb=_int(env, "MAX_REQUEST_BODY_MB", 128, minimum=1),
        sql_max_open_conns=_int(env, "SQL_MAX_OPEN_CONNS", 1000, minimum=1),
        global_api_rate_limit=_rate_limit(env, "GLOBAL_API_RATE_LIMIT", 180, 180),
        critical_rate_limit=_rate_limit(env, "CRITICAL_RATE_LIMIT", 20, 1200),
        search_rate_limit=_rate_limit(env, "SEARCH_RATE_LIMIT", 10, 60),
        generate_default_token=_bool(env, "GENERATE_DEFAULT_TOKEN", False),
        debug=_bool(env, "DEBUG", False),
        hypercorn_config=_get(env, "HYPERCORN_CONFIG", "hypercorn.toml"),
    )


def settings_from_environ() -> Settings:
    """The one place that reads the process environment."""
    import os

    return load_settings(os.environ)
