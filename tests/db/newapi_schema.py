"""A new-api database as GORM created it, per engine; raw access to it; the newapi CLI run on it.

Written from the reference (admin §1-3, §3.7), not from newapi's migrations, so adoption is tested
against an independent statement of what a deployed new-api holds. The shape is JAN26's:

- ``users`` without ``created_at`` / ``last_login_at``;
- ``tokens.key`` ``char(48)`` and ``tokens.model_limits`` ``varchar(1024)`` (CUR widened both);
- ``logs`` without ``request_id`` / ``upstream_request_id`` and ``idx_user_id_id``, with
  ``idx_created_at_id`` still on ``(id, created_at)``;
- ``quota_data`` without ``use_group`` / ``token_id`` / ``channel_id`` / ``node_name``;
- ``top_ups`` without ``payment_provider``;
- no ``setups`` table (an install from before the setup flow: a root user, no setup row);
- plus what newapi does not know and must leave alone: ``users.legacy_note`` and ``checkins``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import bcrypt

from newapi.config import parse_dsn
from tests.support.services import mysql_database, postgres_database

ROOT = Path(__file__).resolve().parents[2]
Engine = Literal["sqlite", "postgres", "mysql"]
ENGINES: tuple[Engine, ...] = ("sqlite", "postgres", "mysql")

# GORM type classes (reference admin §2), as (SQLite, MySQL, PostgreSQL). Other types are explicit
# ``type:`` tags and are written verbatim on every engine.
CLASSES: dict[str, tuple[str, str, str]] = {
    "I64": ("integer", "bigint", "bigint"),
    "U64": ("integer", "bigint unsigned", "bigint"),
    "B": ("numeric", "boolean", "boolean"),
    "F": ("real", "double", "decimal"),
    "T": ("datetime", "datetime(3)", "timestamptz"),
    "S0": ("text", "longtext", "text"),
    "S1": ("text", "varchar(191)", "text"),
    "S50": ("text", "varchar(50)", "varchar(50)"),
    "S64": ("text", "varchar(64)", "varchar(64)"),
    "JSON": ("json", "JSON", "json"),
}
_ENGINE_SLOT = {"sqlite": 0, "mysql": 1, "postgres": 2}


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, str, str], ...]  # (name, type class or explicit type, extra DDL)
    indexes: tuple[Index, ...] = ()
    primary: tuple[str, ...] = ("id",)
    serial: bool = True  # the primary key is GORM's auto-increment ``id``

    def column_names(self) -> list[str]:
        return [name for name, _, _ in self.columns]


def _idx(table: str, *columns: str, unique: bool = False) -> Index:
    return Index(f"idx_{table}_{columns[0]}", columns, unique)


def _many(table: str, *columns: str) -> tuple[Index, ...]:
    return tuple(_idx(table, c) for c in columns)


USERS = Table(
    "users",
    (
        ("id", "ID", ""),
        ("username", "S1", "UNIQUE"),
        ("password", "S0", "NOT NULL"),
        ("display_name", "S1", ""),
        ("role", "I64", "DEFAULT 1"),
        ("status", "I64", "DEFAULT 1"),
        ("email", "S1", ""),
        ("github_id", "S1", ""),
        ("discord_id", "S1", ""),
        ("oidc_id", "S1", ""),
        ("wechat_id", "S1", ""),
        ("telegram_id", "S1", ""),
        ("access_token", "char(32)", ""),
        ("quota", "I64", "DEFAULT 0"),
        ("used_quota", "I64", "DEFAULT 0"),
        ("request_count", "I64", "DEFAULT 0"),
        ("group", "varchar(64)", "DEFAULT 'default'"),
        ("aff_code", "varchar(32)", ""),
        ("aff_count", "I64", "DEFAULT 0"),
        ("aff_quota", "I64", "DEFAULT 0"),
        ("aff_history", "I64", "DEFAULT 0"),
        ("inviter_id", "I64", ""),
        ("deleted_at", "T", ""),
        ("linux_do_id", "S1", ""),
        ("setting", "S0", ""),
        ("remark", "varchar(255)", ""),
        ("stripe_customer", "varchar(64)", ""),
        ("legacy_note", "S0", ""),  # unknown to newapi: must survive
    ),
    (
        *_many(
            "users",
            "username",
            "display_name",
            "email",
            "github_id",
            "discord_id",
            "oidc_id",
            "wechat_id",
            "telegram_id",
            "inviter_id",
            "deleted_at",
            "linux_do_id",
            "stripe_customer",
        ),
        _idx("users", "access_token", unique=True),
        _idx("users", "aff_code", unique=True),
    ),
)

TOKENS = Table(
    "tokens",
    (
        ("id", "ID", ""),
        ("user_id", "I64", ""),
        ("key", "char(48)", ""),
        ("status", "I64", "DEFAULT 1"),
        ("name", "S1", ""),
        ("created_time", "I64", ""),
        ("accessed_time", "I64", ""),
        ("expired_time", "I64", "DEFAULT -1"),
        ("remain_quota", "I64", "DEFAULT 0"),
        ("unlimited_quota", "B", ""),
        ("model_limits_enabled", "B", ""),
        ("model_limits", "varchar(1024)", "DEFAULT ''"),
        ("allow_ips", "S1", "DEFAULT ''"),
        ("used_quota", "I64", "DEFAULT 0"),
        ("group", "S1", "DEFAULT ''"),
        ("cross_group_retry", "B", ""),
        ("deleted_at", "T", ""),
    ),
    (
        *_many("tokens", "user_id", "name", "deleted_at"),
        _idx("tokens", "key", unique=True),
    ),
)

CHANNELS = Table(
    "channels",
    (
        ("id", "ID", ""),
        ("type", "I64", "DEFAULT 0"),
        ("key", "S0", "NOT NULL"),
        ("open_ai_organization", "S0", ""),
        ("test_model", "S0", ""),
        ("status", "I64", "DEFAULT 1"),
        ("name", "S1", ""),
        ("weight", "U64", "DEFAULT 0"),
        ("created_time", "I64", ""),
        ("test_time", "I64", ""),
        ("response_time", "I64", ""),
        ("base_url", "S1", "DEFAULT ''"),
        ("other", "S0", ""),
        ("balance", "F", ""),
        ("balance_updated_time", "I64", ""),
        ("models", "S0", ""),
        ("group", "varchar(64)", "DEFAULT 'default'"),
        ("used_quota", "I64", "DEFAULT 0"),
        ("model_mapping", "text", ""),
        ("status_code_mapping", "varchar(1024)", "DEFAULT ''"),
        ("priority", "I64", "DEFAULT 0"),
        ("auto_ban", "I64", "DEFAULT 1"),
        ("other_info", "S0", ""),
        ("tag", "S1", ""),
        ("setting", "text", ""),
        ("param_override", "text", ""),
        ("header_override", "text", ""),
        ("remark", "varchar(255)", ""),
        ("channel_info", "JSON", ""),
        ("settings", "S0", ""),
    ),
    _many("channels", "name", "tag"),
)

ABILITIES = Table(
    "abilities",
    (
        ("group", "varchar(64)", ""),
        ("model", "varchar(255)", ""),
        ("channel_id", "I64", ""),
        ("enabled", "B", ""),
        ("priority", "I64", "DEFAULT 0"),
        ("weight", "U64", "DEFAULT 0"),
        ("tag", "S1", ""),
    ),
    _many("abilities", "channel_id", "priority", "weight", "tag"),
    primary=("group", "model", "channel_id"),
    serial=False,
)

OPTIONS = Table("options", (("key", "S1", ""), ("value", "S0", "")), primary=("key",), serial=False)

REDEMPTIONS = Table(
    "redemptions",
    (
        ("id", "ID", ""),
        ("user_id", "I64", ""),
        ("key", "char(32)", ""),
        ("status", "I64", "DEFAULT 1"),
        ("name", "S1", ""),
        ("quota", "I64", "DEFAULT 100"),
        ("created_time", "I64", ""),
        ("redeemed_time", "I64", ""),
        ("used_user_id", "I64", ""),
        ("deleted_at", "T", ""),
        ("expired_time", "I64", ""),
    ),
    (*_many("redemptions", "name", "deleted_at"), _idx("redemptions", "key", unique=True)),
)

TOP_UPS = Table(
    "top_ups",
    (
        ("id", "ID", ""),
        ("user_id", "I64", ""),
        ("amount", "I64", ""),
        ("money", "F", ""),
        ("trade_no", "varchar(255)", "UNIQUE"),
        ("payment_method", "varchar(50)", ""),
        ("create_time", "I64", ""),
        ("complete_time", "I64", ""),
        ("status", "S0", ""),
    ),
    _many("top_ups", "user_id", "trade_no"),
)

LOGS = Table(
    "logs",
    (
        ("id", "ID", ""),
        ("user_id", "I64", ""),
        ("created_at", "I64", ""),
        ("type", "I64", ""),
        ("content", "S0", ""),
        ("username", "S1", "DEFAULT ''"),
        ("token_name", "S1", "DEFAULT ''"),
        ("model_name", "S1", "DEFAULT ''"),
        ("quota", "I64", "DEFAULT 0"),
        ("prompt_tokens", "I64", "DEFAULT 0"),
        ("completion_tokens", "I64", "DEFAULT 0"),
        ("use_time", "I64", "DEFAULT 0"),
        ("is_stream", "B", ""),
        ("channel_id", "I64", ""),
        ("channel_name", "S0", ""),
        ("token_id", "I64", "DEFAULT 0"),
        ("group", "S1", ""),
        ("ip", "S1", "DEFAULT ''"),
        ("other", "S0", ""),
    ),
    (
        *_many("logs", "user_id", "username", "token_name", "model_name", "channel_id", "token_id"),
        *_many("logs", "group", "ip"),
        Index("idx_created_at_id", ("id", "created_at")),  # JAN26's order; CUR has it reversed
        Index("idx_created_at_type", ("created_at", "type")),
        Index("index_username_model_name", ("model_name", "username")),
    ),
)

QUOTA_DATA = Table(
    "quota_data",
    (
        ("id", "ID", ""),
        ("user_id", "I64", ""),
        ("username", "S64", "DEFAULT ''"),
        ("model_name", "S64", "DEFAULT ''"),
        ("created_at", "I64", ""),
        ("token_used", "I64", "DEFAULT 0"),
        ("count", "I64", "DEFAULT 0"),
        ("quota", "I64", "DEFAULT 0"),
    ),
    (
        _idx("quota_data", "user_id"),
        Index("idx_qdt_created_at", ("created_at",)),
        Index("idx_qdt_model_user_name", ("model_name", "username")),
    ),
)

CHECKINS = Table(  # a JAN26 table newapi has no model for
    "checkins",
    (
        ("id", "ID", ""),
        ("user_id", "I64", "NOT NULL"),
        ("checkin_date", "varchar(10)", "NOT NULL"),
        ("quota_awarded", "I64", "NOT NULL"),
        ("created_at", "I64", ""),
    ),
    (Index("idx_user_checkin_date", ("user_id", "checkin_date"), unique=True),),
)

MAIN_TABLES = (USERS, TOKENS, CHANNELS, ABILITIES, OPTIONS, REDEMPTIONS, TOP_UPS, QUOTA_DATA)
JAN26_TABLES = (*MAIN_TABLES, LOGS, CHECKINS)

# What adoption must add (reference §3.7: the JAN26 -> CUR columns newapi maps).
MISSING_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("created_at", "last_login_at"),
    "logs": ("request_id", "upstream_request_id"),
    "quota_data": ("use_group", "token_id", "channel_id", "node_name"),
    "top_ups": ("payment_provider",),
}
MISSING_INDEXES: dict[str, tuple[str, ...]] = {
    "logs": ("idx_logs_request_id", "idx_logs_upstream_request_id", "idx_user_id_id"),
    "quota_data": (
        "idx_quota_data_use_group",
        "idx_quota_data_token_id",
        "idx_quota_data_channel_id",
        "idx_quota_data_node_name",
    ),
}


def quote(engine: Engine, name: str) -> str:
    return f'"{name}"' if engine == "postgres" else f"`{name}`"


def column_type(engine: Engine, kind: str) -> str:
    if kind == "ID":
        return {
            "sqlite": "integer PRIMARY KEY AUTOINCREMENT",
            "mysql": "bigint AUTO_INCREMENT",
            "postgres": "bigserial",
        }[engine]
    if kind in CLASSES:
        return CLASSES[kind][_ENGINE_SLOT[engine]]
    return kind


def _column_ddl(engine: Engine, name: str, kind: str, extra: str) -> str:
    return " ".join(p for p in (quote(engine, name), column_type(engine, kind), extra) if p)


def _index_ddl(engine: Engine, table: str, index: Index) -> str:
    kind = "UNIQUE INDEX" if index.unique else "INDEX"
    cols = ",".join(quote(engine, c) for c in index.columns)
    if engine == "mysql":
        return f"{kind} {quote(engine, index.name)} ({cols})"
    return f"CREATE {kind} {quote(engine, index.name)} ON {quote(engine, table)}({cols})"


def create_table(engine: Engine, table: Table) -> list[str]:
    """GORM's statements for ``table``: MySQL declares indexes inline, the others after."""
    parts = [_column_ddl(engine, *column) for column in table.columns]
    if engine != "sqlite" or not table.serial:
        parts.append(f"PRIMARY KEY ({','.join(quote(engine, c) for c in table.primary)})")
    indexes = [_index_ddl(engine, table.name, index) for index in table.indexes]
    if engine == "mysql":
        parts += indexes
        indexes = []
    return [f"CREATE TABLE {quote(engine, table.name)} ({','.join(parts)})", *indexes]


def schema_sql(engine: Engine, tables: Iterable[Table] = JAN26_TABLES) -> list[str]:
    return [statement for table in tables for statement in create_table(engine, table)]


# --- rows -----------------------------------------------------------------------------------

ROOT_PASSWORD = "legacy-root-pass"
ALICE_PASSWORD = "alice-pass-1234"
BOB_PASSWORD = "bob-pass-12345"
ALICE_KEY = "AliceKey0123456789abcdefghijklmnopqrstuvwxyzABCD"
ALICE_DELETED_KEY = "AliceGone0123456789abcdefghijklmnopqrstuvwxyzABC"
ROOT_KEY = "RootKey00123456789abcdefghijklmnopqrstuvwxyzABCD"
CHANNEL_KEY = "sk-legacy-upstream-secret"
SYSTEM_NAME = "Legacy New API"


@dataclass(frozen=True, slots=True)
class Deleted:
    """A soft-delete time, in the text each engine's Go driver stores."""

    def literal(self, engine: Engine) -> str:
        return {
            # glebarez/sqlite writes Go's time.Time text: nanoseconds and a zone offset.
            "sqlite": "'2025-11-03 08:15:42.123456789+08:00'",
            "mysql": "'2025-11-03 00:15:42.123'",
            "postgres": "'2025-11-03 08:15:42.123456+08:00'",
        }[engine]


DELETED = Deleted()


def go_bcrypt(password: str) -> str:
    """A hash as Go's bcrypt writes it: ``$2a$10$...``."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(10, prefix=b"2a")).decode()


@dataclass(slots=True)
class Seed:
    """Rows of a deployed new-api, by table."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def seed() -> Seed:
    """A root user, a common user and a soft-deleted one, their tokens, a channel and the rest."""
    now = 1_760_000_000
    users = [
        {
            "id": 1,
            "username": "root",
            "password": go_bcrypt(ROOT_PASSWORD),
            "display_name": "Root User",
            "role": 100,
            "status": 1,
            "quota": 100_000_000,
            "group": "default",
            "aff_code": "",
            "legacy_note": "kept by root",
        },
        {
            "id": 2,
            "username": "alice",
            "password": go_bcrypt(ALICE_PASSWORD),
            "display_name": "Alice",
            "role": 1,
            "status": 1,
            "email": "alice@example.com",
            "quota": 500_000,
            "used_quota": 1234,
            "request_count": 7,
            "group": "default",
            "aff_code": "Ab3x",
            "aff_history": 5,
            "inviter_id": 0,
            "setting": '{"notify_type":"email"}',
            "remark": "vip",
            "legacy_note": "alice's note",
        },
        {
            "id": 3,
            "username": "bob",
            "password": go_bcrypt(BOB_PASSWORD),
            "display_name": "Bob",
            "role": 1,
            "status": 1,
            "group": "default",
            "aff_code": "Zz9q",
            "deleted_at": DELETED,
        },
    ]
    tokens = [
        _token(1, 2, ALICE_KEY, "alice-key", now, model_limits="gpt-4o,gpt-4o-mini"),
        _token(2, 2, ALICE_DELETED_KEY, "alice-gone", now, deleted_at=DELETED),
        _token(3, 1, ROOT_KEY, "root-key", now, unlimited_quota=True),
    ]
    return Seed(
        {
            "users": users,
            "tokens": tokens,
            "channels": [_channel(now)],
            "abilities": [
                {"group": "default", "model": m, "channel_id": 1, "enabled": True, "priority": 0}
                for m in ("gpt-4o", "gpt-4o-mini")
            ],
            "options": [
                {"key": "SystemName", "value": SYSTEM_NAME},
                {"key": "QuotaPerUnit", "value": "500000"},
                {"key": "RegisterEnabled", "value": "true"},
            ],
            "redemptions": [
                {"id": 1, "user_id": 1, "key": "0123456789abcdef0123456789abcdef", "name": "gift"}
            ],
            "top_ups": [
                {
                    "id": 1,
                    "user_id": 2,
                    "amount": 10,
                    "money": 7.25,
                    "trade_no": "T-2025-1",
                    "payment_method": "stripe",
                    "create_time": now,
                    "complete_time": now + 5,
                    "status": "success",
                }
            ],
            "quota_data": [
                {
                    "id": 1,
                    "user_id": 2,
                    "username": "alice",
                    "model_name": "gpt-4o",
                    "created_at": now - now % 3600,
                    "token_used": 300,
                    "count": 3,
                    "quota": 450,
                }
            ],
            "logs": [_log(1, now, 2, "consume"), _log(2, now + 1, 3, "manage")],
            "checkins": [
                {
                    "id": 1,
                    "user_id": 2,
                    "checkin_date": "2025-11-01",
                    "quota_awarded": 1000,
                    "created_at": now,
                }
            ],
        }
    )


def _token(
    token_id: int, user_id: int, key: str, name: str, now: int, **extra: Any
) -> dict[str, Any]:
    return {
        "id": token_id,
        "user_id": user_id,
        "key": key,
        "status": 1,
        "name": name,
        "created_time": now,
        "accessed_time": now,
        "expired_time": -1,
        "remain_quota": 1000,
        "unlimited_quota": False,
        "model_limits_enabled": "model_limits" in extra,
        "model_limits": "",
        "allow_ips": "",
        "used_quota": 20,
        "group": "",
        "cross_group_retry": False,
        **extra,
    }


def _channel(now: int) -> dict[str, Any]:
    return {
        "id": 1,
        "type": 1,
        "key": CHANNEL_KEY,
        "status": 1,
        "name": "legacy-openai",
        "weight": 0,
        "created_time": now,
        "balance": 12.5,
        "models": "gpt-4o,gpt-4o-mini",
        "group": "default",
        "model_mapping": '{"gpt-4":"gpt-4o"}',
        "priority": 0,
        "auto_ban": 1,
        "channel_info": '{"is_multi_key":false,"multi_key_size":0}',
    }


def _log(log_id: int, created_at: int, kind: int, content: str) -> dict[str, Any]:
    return {
        "id": log_id,
        "user_id": 2,
        "created_at": created_at,
        "type": kind,
        "content": content,
        "username": "alice",
        "token_name": "alice-key",
        "model_name": "gpt-4o",
        "quota": 100,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "use_time": 2,
        "is_stream": True,
        "channel_id": 1,
        "token_id": 1,
        "group": "default",
        "ip": "127.0.0.1",
        "other": '{"model_ratio":2.5}',
    }


def literal(engine: Engine, value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Deleted):
        return value.literal(engine)
    if isinstance(value, bool):
        if engine == "postgres":
            return "true" if value else "false"
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("'", "''")
    if engine == "mysql":
        escaped = escaped.replace("\\", "\\\\")
    return f"'{escaped}'"


def insert_sql(engine: Engine, data: Seed) -> list[str]:
    """INSERTs of every seeded row; PostgreSQL's sequences are then moved past the ids used."""
    statements = []
    for table, rows in data.rows.items():
        for row in rows:
            cols = ",".join(quote(engine, c) for c in row)
            values = ",".join(literal(engine, v) for v in row.values())
            statements.append(f"INSERT INTO {quote(engine, table)} ({cols}) VALUES ({values})")
    if engine == "postgres":
        serial = [t.name for t in JAN26_TABLES if t.serial and data.rows.get(t.name)]
        statements += [
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
            f'(SELECT max(id) FROM "{name}"))'
            for name in serial
        ]
    return statements


# --- raw access -----------------------------------------------------------------------------


class RawDatabase:
    """One engine's driver, used directly: what is really in the database, without newapi."""

    def __init__(self, engine: Engine, conn: Any) -> None:
        self.engine = engine
        self._conn = conn

    @classmethod
    async def connect(cls, engine: Engine, target: str) -> RawDatabase:
        """``target`` is a SQLite path, or the DSN a new-api user would put in SQL_DSN."""
        if engine == "sqlite":
            import sqlite3

            conn = sqlite3.connect(target, isolation_level=None)
            conn.row_factory = sqlite3.Row
            return cls(engine, conn)
        if engine == "postgres":
            import asyncpg

            return cls(engine, await asyncpg.connect(target))
        import asyncmy

        url = urlsplit(parse_dsn("SQL_DSN", target, "").url)
        conn = await asyncmy.connect(
            host=url.hostname,
            port=url.port or 3306,
            user=unquote(url.username or "root"),
            password=unquote(url.password or ""),
            db=url.path.strip("/"),
            autocommit=True,
        )
        return cls(engine, conn)

    async def close(self) -> None:
        if self.engine == "postgres":
            await self._conn.close()
        else:
            self._conn.close()

    async def execute(self, statements: Iterable[str]) -> None:
        for statement in statements:
            if self.engine == "sqlite":
                self._conn.execute(statement)
            elif self.engine == "postgres":
                await self._conn.execute(statement)
            else:
                async with self._conn.cursor() as cur:
                    await cur.execute(statement)

    async def fetch(self, sql: str) -> list[dict[str, Any]]:
        if self.engine == "sqlite":
            return [dict(row) for row in self._conn.execute(sql).fetchall()]
        if self.engine == "postgres":
            return [dict(row) for row in await self._conn.fetch(sql)]
        from asyncmy.cursors import DictCursor

        async with self._conn.cursor(DictCursor) as cur:
            await cur.execute(sql)
            return list(await cur.fetchall())

    async def tables(self) -> set[str]:
        sql = {
            "sqlite": "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
            "postgres": "SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()",
            "mysql": "SELECT table_name AS t FROM information_schema.tables "
            "WHERE table_schema = DATABASE()",
        }[self.engine]
        return {row["t"] for row in await self.fetch(sql)}

    async def columns(self, table: str) -> dict[str, str]:
        """Column name -> declared type, lower case (``char(48)``, ``character(48)``, ...)."""
        if self.engine == "sqlite":
            rows = await self.fetch(f"PRAGMA table_info(`{table}`)")
            return {r["name"]: r["type"].lower() for r in rows}
        if self.engine == "postgres":
            rows = await self.fetch(
                "SELECT a.attname AS c, format_type(a.atttypid, a.atttypmod) AS t "
                f"FROM pg_attribute a WHERE a.attrelid = '\"{table}\"'::regclass "
                "AND a.attnum > 0 AND NOT a.attisdropped"
            )
            return {r["c"]: r["t"].lower() for r in rows}
        rows = await self.fetch(
            "SELECT column_name AS c, column_type AS t FROM information_schema.columns "
            f"WHERE table_schema = DATABASE() AND table_name = '{table}'"
        )
        return {r["c"]: r["t"].lower() for r in rows}

    async def indexes(self, table: str) -> dict[str, tuple[str, ...]]:
        """Index name -> its columns in order."""
        if self.engine == "sqlite":
            found = {}
            for row in await self.fetch(f"PRAGMA index_list(`{table}`)"):
                info = await self.fetch(f"PRAGMA index_info(`{row['name']}`)")
                found[row["name"]] = tuple(
                    i["name"] for i in sorted(info, key=lambda i: i["seqno"])
                )
            return found
        if self.engine == "postgres":
            rows = await self.fetch(
                "SELECT i.relname AS n, a.attname AS c, k.ord AS o FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) "
                "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
                f"WHERE x.indrelid = '\"{table}\"'::regclass"
            )
        else:
            rows = await self.fetch(
                "SELECT index_name AS n, column_name AS c, seq_in_index AS o "
                "FROM information_schema.statistics "
                f"WHERE table_schema = DATABASE() AND table_name = '{table}'"
            )
        ordered: dict[str, list[tuple[int, str]]] = {}
        for row in rows:
            ordered.setdefault(row["n"], []).append((int(row["o"]), row["c"]))
        return {name: tuple(c for _, c in sorted(cols)) for name, cols in ordered.items()}

    async def rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of ``table`` (its GORM columns only), in primary-key order."""
        cols = ",".join(quote(self.engine, c) for c in table.column_names())
        order = ",".join(quote(self.engine, c) for c in table.primary)
        return await self.fetch(
            f"SELECT {cols} FROM {quote(self.engine, table.name)} ORDER BY {order}"
        )


@asynccontextmanager
async def empty_database(
    engine: Engine, workdir: Path
) -> AsyncIterator[tuple[dict[str, str], str]]:
    """A new empty database; yields the env a new-api user would set and the raw driver target.

    PostgreSQL and MariaDB come from ``tests.support.services`` (skipped outside CI when absent);
    the SQL_DSN is the form new-api documents (``postgres://...``, go-sql-driver for MySQL).
    """
    if engine == "sqlite":
        path = str(workdir / "one-api.db")
        yield {"SQLITE_PATH": path}, path
    elif engine == "postgres":
        async with postgres_database() as dsn:
            yield {"SQL_DSN": dsn}, dsn
    else:
        async with mysql_database() as dsn:
            yield {"SQL_DSN": dsn}, dsn


# --- running the newapi CLI on it -----------------------------------------------------------

# The developer's own settings must not leak into a newapi started by a test.
_SERVER_VARIABLES = frozenset(
    {
        "SQL_DSN",
        "LOG_SQL_DSN",
        "REDIS_CONN_STRING",
        "NODE_TYPE",
        "SQLITE_PATH",
        "SESSION_SECRET",
        "CRYPTO_SECRET",
        "MEMORY_CACHE_ENABLED",
        "PORT",
        "NEWAPI_MIGRATIONS_DIR",
    }
)


CLI_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class CliRun:
    code: int
    output: str  # stdout and stderr together


async def run_newapi(*args: str, cwd: Path, **env: str) -> CliRun:
    """``python -m newapi ARGS`` in its own process (one process per engine, as Tortoise needs)."""
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVER_VARIABLES}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "newapi",
        *args,
        cwd=cwd,
        env={**inherited, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), CLI_SECONDS)
    return CliRun(process.returncode or 0, out.decode(errors="replace"))
