from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Cache(Protocol):
    """Bytes by key with a time to live; shared by all nodes when it is Redis."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def hit(self, key: str, window: int) -> int:
        """Count one event in the fixed window ``key`` (``window`` seconds); return the count."""
        ...

    async def reserve(self, keys: Sequence[str], amount: int) -> int:
        """Atomically take ``amount`` from every balance in ``keys`` if each holds at least that.

        Returns -1 on success, the index of the first balance that is short, or -2 when a
        balance is not loaded (nothing is taken then).
        """
        ...

    async def load_balance(self, key: str, value: int, ttl: float | None) -> None:
        """Set a balance unless one is already loaded (a concurrent loader may have won)."""
        ...

    async def adjust(self, key: str, delta: int) -> None:
        """Add ``delta`` (may be negative) to a loaded balance; no-op when not loaded."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
