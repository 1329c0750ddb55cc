"""bcrypt, compatible with the Go hashes new-api stores (``$2a$10$...``).

Hashing costs tens of milliseconds of CPU, so it runs in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio

import bcrypt

COST = 10
MIN_LENGTH = 8
MAX_LENGTH = 72  # bcrypt ignores bytes past 72


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=COST)).decode()


def _verify(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash (e.g. an empty password column)
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def verify_password(password: str, hashed: str) -> bool:
    if not hashed or len(password.encode()) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, password, hashed)
