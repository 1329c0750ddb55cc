from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol


class Cache(Protocol):
    """Bytes by key with a time to live; shared by all nodes when it is Redis."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def keys(self, prefix: str) -> list[str]:
        """The live keys set with :meth:`set` that start with ``prefix`` (admin listings:
        SCAN on Redis, never KEYS)."""
        ...

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

    async def admit(
        self, keys: Sequence[str], limits: Sequence[int], window: float, member: str
    ) -> tuple[int, float]:
        """Add ``member`` to every sliding-window log in ``keys`` at once, or to none of them.

        A log holds the members added in the last ``window`` seconds (a member added at ``t``
        leaves at ``t + window``). ``member`` goes in only if each log ``keys[i]`` holds fewer
        than ``limits[i]`` members. Returns ``(-1, 0.0)`` when added, else ``(i, wait)``: the
        first full log and the seconds until its oldest member leaves. Members are unique
        names; on Redis Cluster all ``keys`` of one call must share a hash slot.
        """
        ...

    async def forget(self, key: str, member: str) -> None:
        """Take ``member`` out of the sliding-window log ``key`` (a no-op when it is absent)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    async def announce(self, topic: str) -> None:
        """Tell every process sharing this cache that ``topic`` changed (no-op in memory)."""
        ...

    def changes(self) -> AsyncIterator[str]:
        """Topics announced by any process, as they come; ends at once when nothing is shared."""
        ...
