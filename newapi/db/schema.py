"""The expected schema, read back from the migration SQL (pure: no I/O).

The migration files are the single statement of what the database should hold. Adopting an
existing new-api database needs the same facts column by column - which columns a table should
have, and how to add one - so they are parsed out of the SQL here rather than kept twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Dialect = Literal["sqlite", "postgres", "mysql"]

_CREATE_TABLE = re.compile(r'CREATE TABLE IF NOT EXISTS [`"](\w+)[`"] \((.*?)\n\)', re.S)
_CREATE_INDEX = re.compile(
    r'CREATE (UNIQUE )?INDEX IF NOT EXISTS [`"](\w+)[`"] ON [`"](\w+)[`"] \(([^)]*)\);'
)
_INLINE_KEY = re.compile(r"^(UNIQUE )?KEY `(\w+)` \(([^)]*)\)")
_COLUMN = re.compile(r'^[`"](\w+)[`"] (.*)$')
_CONSTRAINT_PREFIXES = ("PRIMARY KEY", "KEY ", "UNIQUE KEY", "UNIQUE ", "CONSTRAINT", "FOREIGN")


@dataclass(frozen=True, slots=True)
class IndexSpec:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(slots=True)
class TableSpec:
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # column -> its DDL after the name
    indexes: list[IndexSpec] = field(default_factory=list)


def _columns_of(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('`"') for part in raw.split(","))


def parse_schema(sql: str) -> dict[str, TableSpec]:
    """Tables, columns and named indexes declared by a migration's SQL."""
    tables: dict[str, TableSpec] = {}
    for match in _CREATE_TABLE.finditer(sql):
        table = TableSpec(match.group(1))
        for line in match.group(2).splitlines():
            line = line.strip().rstrip(",")
            if not line:
                continue
            key = _INLINE_KEY.match(line)
            if key:
                index = IndexSpec(key.group(2), table.name, _columns_of(key.group(3)), bool(key[1]))
                table.indexes.append(index)
                continue
            if line.startswith(_CONSTRAINT_PREFIXES):
                continue
            column = _COLUMN.match(line)
            if column:
                table.columns[column.group(1)] = column.group(2)
        tables[table.name] = table
    for match in _CREATE_INDEX.finditer(sql):
        unique, name, table_name, cols = match.groups()
        if table_name in tables:
            tables[table_name].indexes.append(
                IndexSpec(name, table_name, _columns_of(cols), bool(unique))
            )
    return tables


def quote(dialect: Dialect, name: str) -> str:
    return f"`{name}`" if dialect == "mysql" else f'"{name}"'


def add_column_sql(dialect: Dialect, table: str, column: str, definition: str) -> list[str]:
    """Statements that add ``column`` to an existing, possibly non-empty table.

    A column added to rows that already exist cannot be NOT NULL without a default, and SQLite
    cannot add a UNIQUE column at all: such columns are added nullable and the uniqueness goes
    into an index of its own.
    """
    unique = " UNIQUE" in definition
    definition = definition.replace(" UNIQUE", "")
    if " NOT NULL" in definition and " DEFAULT " not in definition:
        definition = definition.replace(" NOT NULL", "")
    statements = [
        f"ALTER TABLE {quote(dialect, table)} ADD COLUMN {quote(dialect, column)} {definition}"
    ]
    if unique:
        statements.append(
            create_index_sql(
                dialect, IndexSpec(f"uniq_{table}_{column}", table, (column,), unique=True)
            )
        )
    return statements


def create_index_sql(dialect: Dialect, index: IndexSpec) -> str:
    kind = "UNIQUE INDEX" if index.unique else "INDEX"
    columns = ", ".join(quote(dialect, c) for c in index.columns)
    exists = "" if dialect == "mysql" else "IF NOT EXISTS "
    return (
        f"CREATE {kind} {exists}{quote(dialect, index.name)} "
        f"ON {quote(dialect, index.table)} ({columns})"
    )


def abilities_sql(dialect: Dialect) -> str:
    """``abilities`` has a composite primary key, which Tortoise cannot declare."""
    q = lambda name: quote(dialect, name)  # noqa: E731
    boolean = {"sqlite": "INT", "postgres": "BOOL", "mysql": "BOOL"}[dialect]
    false = "False" if dialect == "postgres" else "0"
    lines = [
        f"{q('group')} VARCHAR(64) NOT NULL",
        f"{q('model')} VARCHAR(255) NOT NULL",
        f"{q('channel_id')} BIGINT NOT NULL",
        f"{q('enabled')} {boolean} DEFAULT {false}",
        f"{q('priority')} BIGINT DEFAULT 0",
        f"{q('weight')} BIGINT DEFAULT 0",
        f"{q('tag')} VARCHAR(191)",
    ]
    indexes = [
        IndexSpec(f"idx_abilities_{c}", "abilities", (c,))
        for c in ("channel_id", "priority", "weight", "tag")
    ]
    if dialect == "mysql":
        lines.append(f"PRIMARY KEY ({q('group')}, {q('model')}, {q('channel_id')})")
        lines += [f"KEY {q(i.name)} ({q(i.columns[0])})" for i in indexes]
        body = ",\n    ".join(lines)
        return f"CREATE TABLE IF NOT EXISTS `abilities` (\n    {body}\n) CHARACTER SET utf8mb4;"
    lines.append(f"PRIMARY KEY ({q('group')}, {q('model')}, {q('channel_id')})")
    body = ",\n    ".join(lines)
    statements = [f'CREATE TABLE IF NOT EXISTS "abilities" (\n    {body}\n);']
    statements += [create_index_sql(dialect, i) + ";" for i in indexes]
    return "\n".join(statements)
