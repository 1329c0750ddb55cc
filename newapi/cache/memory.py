from __future__ import annotations

import time
from collections import OrderedDict


class MemoryCache:
    """A process-local cache with TTLs and a bounded size (least recently set goes first)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._counters: dict[str, tuple[float, int]] = {}
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        expires, count = self._counters.get(key, (0.0, 0))
        if expires <= now:
            expires, count = now + window, 0
            if len(self._counters) > self._max:
                self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
        self._counters[key] = (expires, count + 1)
        return count + 1

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        self._counters.clear()
