from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence


class MemoryCache:
    """A process-local cache with TTLs and a bounded size (least recently set goes first)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._counters: dict[str, tuple[float, int]] = {}
        self._balances: dict[str, tuple[float, int]] = {}
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
            self._balances.pop(key, None)

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        expires, count = self._counters.get(key, (0.0, 0))
        if expires <= now:
            expires, count = now + window, 0
            if len(self._counters) > self._max:
                self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
        self._counters[key] = (expires, count + 1)
        return count + 1

    def _balance(self, key: str, now: float) -> int | None:
        entry = self._balances.get(key)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    async def reserve(self, keys: Sequence[str], amount: int) -> int:
        # No await inside: the check and the take are one step for the event loop.
        now = time.monotonic()
        values = [self._balance(key, now) for key in keys]
        if any(value is None for value in values):
            return -2
        for index, value in enumerate(values):
            if value is not None and value < amount:
                return index
        for key in keys:
            expires, value = self._balances[key]
            self._balances[key] = (expires, value - amount)
        return -1

    async def load_balance(self, key: str, value: int, ttl: float | None) -> None:
        now = time.monotonic()
        if self._balance(key, now) is None:
            expires = now + ttl if ttl is not None else float("inf")
            self._balances[key] = (expires, value)

    async def adjust(self, key: str, delta: int) -> None:
        entry = self._balances.get(key)
        if entry is not None:
            self._balances[key] = (entry[0], entry[1] + delta)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        self._counters.clear()
        self._balances.clear()
