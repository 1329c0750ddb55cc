from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Bytes by key with a time to live; shared by all nodes when it is Redis."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def hit(self, key: str, window: int) -> int:
        """Count one event in the fixed window ``key`` (``window`` seconds); return the count."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
