"""The real services tests run against, and the CI rule: under ``CI=true`` they must exist."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgres://postgres@127.0.0.1:5432/test")
MYSQL_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TEST_MYSQL_PORT", "3306"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    """Skip outside CI when ``name`` is not running; fail loudly in CI."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message} (runs under CI=true)")


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database; yields its DSN and drops it afterwards."""
    import asyncpg

    require("PostgreSQL", "127.0.0.1", 5432)
    name = f"newapi_t_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def mysql_database() -> AsyncIterator[str]:
    """A fresh MariaDB/MySQL database; yields a go-sql-driver style DSN as new-api users write."""
    import asyncmy

    require("MariaDB", MYSQL_HOST, MYSQL_PORT)
    name = f"newapi_t_{secrets.token_hex(4)}"
    conn = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="")
    try:
        async with conn.cursor() as cur:
            await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield f"root:@tcp({MYSQL_HOST}:{MYSQL_PORT})/{name}?charset=utf8mb4&parseTime=True"
    finally:
        conn = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="")
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


@asynccontextmanager
async def redis_database() -> AsyncIterator[str]:
    """A Redis logical database flushed before and after; yields its URL."""
    from redis import asyncio as aioredis

    require("Redis", "127.0.0.1", 6379)
    # One logical database per pytest-xdist worker (gw0, gw1, ...): a flush never hits another's.
    # TEST_REDIS_DB_BASE moves the range, so two checkouts can run their suites side by side.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = int(os.environ.get("TEST_REDIS_DB_BASE", "9"))
    db = base + (int(worker) if worker.isdigit() else 0) % 6
    url = REDIS_URL.rsplit("/", 1)[0] + f"/{db}"
    client = aioredis.from_url(url)
    await client.flushdb()
    try:
        yield url
    finally:
        await client.flushdb()
        await client.aclose()
