"""Typed settings, read once from environment variables with new-api's names and defaults.

Nothing else in the package reads ``os.environ``: the app, the CLI and the migrations take a
:class:`Settings`. An invalid value raises :class:`ConfigError`, whose message is one line that
names the variable, and start-up stops with it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

log = logging.getLogger(__name__)

Engine = Literal["sqlite", "postgres", "mysql"]
T = TypeVar("T")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Go's strconv.ParseBool spellings (new-api's), plus yes/no and on/off.
_TRUE = frozenset({"1", "t", "true", "yes", "on"})
_FALSE = frozenset({"0", "f", "false", "no", "off"})
DEFAULT_SQLITE_PATH = "one-api.db?_busy_timeout=30000"
DEFAULT_BUSY_TIMEOUT_MS = "30000"


class ConfigError(ValueError):
    """An environment variable holds a value newapi cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"invalid {variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Database:
    """Where one database lives: a Tortoise URL plus the driver options its DSN asked for."""

    engine: Engine
    url: str  # a Tortoise connection URL; user and password percent-encoded
    # Driver keyword options translated from the DSN's query (newapi.db.connection applies them):
    # PostgreSQL ssl/timeout/application_name/target_session_attrs/host, MySQL ssl/connect_timeout.
    options: tuple[tuple[str, str], ...] = ()
    server_settings: tuple[tuple[str, str], ...] = ()  # PostgreSQL run-time parameters

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
    global_api_rate_limit: RateLimit = RateLimit(True, 360, 180)
    critical_rate_limit: RateLimit = RateLimit(True, 20, 1200)
    search_rate_limit: RateLimit = RateLimit(True, 10, 60)
    generate_default_token: bool = False
    debug: bool = False
    hypercorn_config: str = "hypercorn.toml"
    migrations_dir: str = ""  # NEWAPI_MIGRATIONS_DIR; empty: the source tree's migrations/
    console_dir: str = ""  # NEWAPI_CONSOLE_DIR; empty: the source tree's console/dist
    # NEWAPI_JOURNAL_DIR: the local settlement journal (used without Redis); default: a
    # ``newapi-journal`` directory next to the SQLite file
    journal_dir: str = "newapi-journal"
    # NEWAPI_MAX_UNWRITTEN_USAGE: settlements a process may hold unwritten (a database outage)
    # before it refuses new relay calls with 503 rather than grow without bound
    max_unwritten_usage: int = 100_000
    relay_timeout: int = 0  # seconds for a whole upstream request; 0 = none
    streaming_timeout: int = 300  # idle seconds between upstream stream events
    force_stream_option: bool = True
    azure_default_api_version: str = "2025-04-01-preview"
    # The threshold set on every Gemini safety category of a converted request (new-api's name).
    gemini_safety_setting: str = "OFF"
    # RELAY_MAX_IDLE_CONNS(_PER_HOST): validated for new-api compatibility; aiohttp has no
    # idle-only cap and a cap on open connections queues streams, so the pool is uncapped.
    relay_max_idle_conns: int = 500
    relay_max_conns_per_host: int = 100
    batch_update_interval: float = 1.0
    error_log_enabled: bool = False  # ERROR_LOG_ENABLED: refused/failed relay calls logged
    channel_test_frequency: float = 0.0  # CHANNEL_TEST_FREQUENCY minutes; 0 = the option's
    polling_interval: float = 0.0  # POLLING_INTERVAL seconds between scheduled channel tests
    # TRUSTED_PROXIES: peers (IPs or CIDRs) whose X-Forwarded-Proto is believed; none by default
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @property
    def is_master(self) -> bool:
        return self.node_type == "master"

    @property
    def max_request_body_bytes(self) -> int:
        return self.max_request_body_mb * 1024 * 1024


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number (new-api takes whole minutes/seconds; fractions are allowed)."""
    raw = _get(env, name)
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number, got {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(name, f"must be a finite number >= 0, got {raw!r}")
    return value


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = _get(env, name)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be at most {maximum}, got {value}")
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


# --- database DSNs (reference: admin §1) ------------------------------------------------------

# go-sqlite query options that have a PRAGMA of the same meaning (mattn and glebarez spellings).
_SQLITE_PRAGMAS = MappingProxyType(
    {
        "_busy_timeout": "busy_timeout",
        "_timeout": "busy_timeout",
        "_journal_mode": "journal_mode",
        "_journal": "journal_mode",
        "_synchronous": "synchronous",
        "_sync": "synchronous",
    }
)
_PRAGMA_CALL = re.compile(r"^(\w+)\((\w+)\)$")  # glebarez: _pragma=busy_timeout(5000)
_WORD = re.compile(r"^\w+$")
_PG_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_PG_DRIVER_OPTIONS = ("application_name", "target_session_attrs", "host")
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_GO_UNITS = MappingProxyType({"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0})
_MYSQL_TLS = MappingProxyType(
    {"true": "verify", "skip-verify": "skip-verify", "preferred": "skip-verify"}
)
_MYSQL_FORM = "user:pass@tcp(host:port)/dbname"


def _sqlite_database(path: str) -> Database:
    """SQLITE_PATH, e.g. ``one-api.db?_busy_timeout=30000``: go-sqlite options become PRAGMAs."""
    bare, _, query = path.partition("?")
    bare = bare.strip().removeprefix("file:")
    if not bare:
        raise ConfigError("SQLITE_PATH", "empty path")
    pragmas: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        call = _PRAGMA_CALL.match(value.replace(" ", "")) if key == "_pragma" else None
        if call:
            pragmas[call[1].lower()] = call[2]
        elif key in _SQLITE_PRAGMAS:
            pragmas[_SQLITE_PRAGMAS[key]] = value
    for name, value in pragmas.items():
        if not _WORD.match(value):
            raise ConfigError("SQLITE_PATH", f"bad value {value!r} for {name}")
    # Wait for a lock as new-api's default path does (30 s), not SQLite's 5 s: several workers
    # sharing one file would otherwise fail writes under load ("database is locked").
    pragmas.setdefault("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS)
    suffix = "?" + urlencode(pragmas) if pragmas else ""
    return Database("sqlite", f"sqlite://{bare}{suffix}")


def _userinfo(user: str, password: str) -> str:
    if not user and not password:
        return ""
    info = quote(user, safe="")
    if password:
        info += ":" + quote(password, safe="")
    return info + "@"


def _host_port(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def _postgres_options(
    variable: str, query: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The DSN query as asyncpg options; like pgx, unknown keys are run-time parameters."""
    options: list[tuple[str, str]] = []
    settings: list[tuple[str, str]] = []
    for key, value in query:
        if key == "sslmode":
            if value not in _PG_SSL_MODES:
                raise ConfigError(variable, f"sslmode must be one of {', '.join(_PG_SSL_MODES)}")
            options.append(("ssl", value))
        elif key == "connect_timeout":
            if not value.isdigit():
                raise ConfigError(variable, f"connect_timeout must be whole seconds, got {value!r}")
            if int(value) > 0:
                options.append(("timeout", value))
        elif key in _PG_DRIVER_OPTIONS:
            options.append((key, value))
        elif key.startswith("ssl") or key in ("passfile", "service", "port"):
            raise ConfigError(variable, f"the DSN option {key} is not supported")
        else:
            settings.append((key, value))
    return options, settings


def _postgres_database(variable: str, dsn: str) -> Database:
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(variable, f"malformed PostgreSQL URL: {exc}") from None
    query = parse_qsl(parts.query, keep_blank_values=True)
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise ConfigError(variable, "the PostgreSQL URL names no database (…/dbname)")
    if not parts.hostname and not dict(query).get("host"):
        raise ConfigError(variable, "the PostgreSQL URL names no host")
    options, settings = _postgres_options(variable, query)
    netloc = _userinfo(unquote(parts.username or ""), unquote(parts.password or ""))
    if parts.hostname:
        netloc += _host_port(parts.hostname, port)
    url = f"postgres://{netloc}/{quote(database, safe='')}"
    return Database("postgres", url, tuple(options), tuple(settings))


def _go_seconds(variable: str, value: str) -> float:
    """A Go duration such as ``30s``, ``1m30s`` or ``500ms``, in seconds."""
    matches = list(_GO_DURATION.finditer(value))
    if not matches or "".join(m[0] for m in matches) != value:
        raise ConfigError(variable, f"timeout must be a Go duration such as 30s, got {value!r}")
    return sum(float(m[1]) * _GO_UNITS[m[2]] for m in matches)


def _mysql_options(variable: str, query: str) -> tuple[tuple[str, str], ...]:
    """go-sql-driver parameters that matter here; parseTime, loc, charset... need nothing."""
    options: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "tls" and value.lower() not in ("", "false"):
            if value.lower() not in _MYSQL_TLS:
                raise ConfigError(variable, f"tls={value} is not supported (true or skip-verify)")
            options.append(("ssl", _MYSQL_TLS[value.lower()]))
        elif key == "timeout":
            options.append(("connect_timeout", repr(_go_seconds(variable, value))))
    return tuple(options)


def _mysql_address(variable: str, address: str) -> str:
    """``tcp(host:port)``, ``host:port`` or nothing (go-sql-driver's 127.0.0.1:3306)."""
    if address.startswith("unix("):
        raise ConfigError(variable, f"unix-socket MySQL DSNs are not supported; use {_MYSQL_FORM}")
    call = re.fullmatch(r"tcp6?\((.*)\)", address)
    if call:
        address = call[1]
    elif "(" in address or ")" in address:
        raise ConfigError(variable, f"unknown MySQL protocol in {address!r}; use {_MYSQL_FORM}")
    address = address or "127.0.0.1:3306"
    if ":" not in address or address.endswith("]"):  # no port; "[::1]" is an IPv6 address
        host, port = address, "3306"
    else:
        host, _, port = address.rpartition(":")
    if not port.isdigit() or not host:
        raise ConfigError(variable, f"bad MySQL address {address!r}; use {_MYSQL_FORM}")
    return f"{host}:{port}"


def _mysql_database(variable: str, user: str, password: str, address: str, tail: str) -> Database:
    database, _, query = tail.partition("?")
    if not database:
        raise ConfigError(variable, "the MySQL DSN names no database (…/dbname)")
    url = (
        f"mysql://{_userinfo(user, password)}{_mysql_address(variable, address)}/{database}"
        "?charset=utf8mb4"
    )
    return Database("mysql", url, _mysql_options(variable, query))


def _go_mysql(variable: str, dsn: str) -> Database:
    """go-sql-driver's ``[user[:password]@][tcp(host:port)]/dbname[?params]``.

    Split as the driver does: the database name follows the last ``/``, the credentials end at
    the last ``@`` before it and the user at the first ``:``; nothing is percent-decoded, so a
    password may hold ``@``, ``:``, ``/`` or ``%`` as it is.
    """
    slash = dsn.rfind("/")
    if slash < 0:
        raise ConfigError(variable, f"not a PostgreSQL URL or a MySQL DSN ({_MYSQL_FORM})")
    creds, at, address = dsn[:slash].rpartition("@")
    if not at:
        creds, address = "", dsn[:slash]
    user, _, password = creds.partition(":")
    return _mysql_database(variable, user, password, address, dsn[slash + 1 :])


def _mysql_url_form(variable: str, dsn: str) -> Database:
    """``mysql://user:pass@host:port/dbname``: not new-api's form, accepted for convenience."""
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(variable, f"malformed MySQL URL: {exc}") from None
    if not parts.hostname:
        raise ConfigError(variable, "the MySQL URL names no host")
    tail = parts.path.strip("/") + ("?" + parts.query if parts.query else "")
    address = _host_port(parts.hostname, port or 3306)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    return _mysql_database(variable, user, password, address, tail)


def parse_dsn(variable: str, dsn: str, sqlite_path: str) -> Database:
    """Map a new-api ``SQL_DSN`` / ``LOG_SQL_DSN`` value to a :class:`Database` (admin §1)."""
    dsn = dsn.strip()
    lowered = dsn.lower()
    if dsn == "" or lowered.startswith("local"):
        return _sqlite_database(sqlite_path)
    if lowered.startswith(("postgres://", "postgresql://")):
        return _postgres_database(variable, dsn)
    if lowered.startswith(("clickhouse://", "tcp://", "http://", "https://")):
        scheme = dsn.split("://", 1)[0]
        raise ConfigError(
            variable, f"{scheme}:// (ClickHouse) is not supported; use PostgreSQL, MySQL or SQLite"
        )
    if lowered.startswith("mysql://"):
        return _mysql_url_form(variable, dsn)
    return _go_mysql(variable, dsn)


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    """A comma-separated list of IP addresses or CIDR blocks."""
    networks = []
    for part in _get(env, name).split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigError(name, f"expected IP addresses or CIDR blocks, got {part!r}") from None
    return tuple(networks)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = _get(env, name, default).lower() or default
    if raw not in choices:
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def _beside(sqlite_path: str, name: str) -> str:
    """``name`` in the directory of the SQLite file (``SQLITE_PATH`` may carry ``?options``)."""
    return str(PurePath(sqlite_path.split("?", 1)[0]).parent / name)


def load_settings(
    env: Mapping[str, str], *, random_secret: Callable[[], str] = lambda: secrets.token_hex(16)
) -> Settings:
    """Read every setting from ``env``; raise :class:`ConfigError` on the first bad one."""
    sqlite_path = _get(env, "SQLITE_PATH") or DEFAULT_SQLITE_PATH
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
        port=_int(env, "PORT", 3000, minimum=1, maximum=65535),
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
        node_name=_get(env, "NODE_NAME") or socket.gethostname(),
        max_request_body_mb=_int(env, "MAX_REQUEST_BODY_MB", 128, minimum=1),
        sql_max_open_conns=_int(env, "SQL_MAX_OPEN_CONNS", 1000, minimum=1),
        global_api_rate_limit=_rate_limit(env, "GLOBAL_API_RATE_LIMIT", 360, 180),
        critical_rate_limit=_rate_limit(env, "CRITICAL_RATE_LIMIT", 20, 1200),
        search_rate_limit=_rate_limit(env, "SEARCH_RATE_LIMIT", 10, 60),
        generate_default_token=_bool(env, "GENERATE_DEFAULT_TOKEN", False),
        debug=_bool(env, "DEBUG", False),
        hypercorn_config=_get(env, "HYPERCORN_CONFIG", "hypercorn.toml"),
        migrations_dir=_get(env, "NEWAPI_MIGRATIONS_DIR"),
        console_dir=_get(env, "NEWAPI_CONSOLE_DIR"),
        journal_dir=_get(env, "NEWAPI_JOURNAL_DIR") or _beside(sqlite_path, "newapi-journal"),
        max_unwritten_usage=_int(env, "NEWAPI_MAX_UNWRITTEN_USAGE", 100_000, minimum=1),
        relay_timeout=_int(env, "RELAY_TIMEOUT", 0),
        streaming_timeout=_int(env, "STREAMING_TIMEOUT", 300, minimum=1),
        force_stream_option=_bool(env, "FORCE_STREAM_OPTION", True),
        azure_default_api_version=_get(env, "AZURE_DEFAULT_API_VERSION", "2025-04-01-preview"),
        gemini_safety_setting=_get(env, "GEMINI_SAFETY_SETTING", "OFF"),
        relay_max_idle_conns=_int(env, "RELAY_MAX_IDLE_CONNS", 500, minimum=1),
        relay_max_conns_per_host=_int(env, "RELAY_MAX_IDLE_CONNS_PER_HOST", 100, minimum=1),
        batch_update_interval=_int(env, "BATCH_UPDATE_INTERVAL", 1, minimum=1),
        error_log_enabled=_bool(env, "ERROR_LOG_ENABLED", False),
        channel_test_frequency=_float(env, "CHANNEL_TEST_FREQUENCY", 0.0),
        polling_interval=_float(env, "POLLING_INTERVAL", 0.0),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
    )


class _Recorder(dict[str, str]):
    """An empty environment that remembers every name asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return default


def variable_names() -> frozenset[str]:
    """Every environment variable newapi reads (for harnesses that must not inherit them)."""
    recorder = _Recorder()
    load_settings(recorder)
    return frozenset(recorder.asked)


def settings_from_environ() -> Settings:
    """The one place that reads the process environment."""
    import os

    return load_settings(os.environ)
