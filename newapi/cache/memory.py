from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class SlidingLog:
    """One sliding-window log: its members with the time each was added, oldest first.

    Pure (the caller passes the time), so the window logic is tested with any clock. Members
    must be added at non-decreasing times, which a monotonic clock guarantees.
    """

    added: dict[str, float] = field(default_factory=dict)
    expires: float = 0.0  # when its newest member leaves the window

    def prune(self, cutoff: float) -> None:
        """Drop the members added at or before ``cutoff`` (``now - window``)."""
        added = self.added
        while added:
            oldest = next(iter(added))
            if added[oldest] > cutoff:
                return
            del added[oldest]

    def wait(self, now: float, window: float) -> float:
        """Seconds until the oldest member leaves the window (the whole window when empty)."""
        if not self.added:
            return window
        return max(next(iter(self.added.values())) + window - now, 0.0)


def admit_into(
    logs: Sequence[SlidingLog], limits: Sequence[int], window: float, member: str, now: float
) -> tuple[int, float]:
    """:meth:`Cache.admit` on in-memory logs at time ``now``: check all, then add to all."""
    for log in logs:
        log.prune(now - window)
    for index, (log, limit) in enumerate(zip(logs, limits, strict=True)):
        if len(log.added) >= limit:
            return index, log.wait(now, window)
    for log in logs:
        log.added.pop(member, None)  # a re-used name moves to the end: order stays by time
        log.added[member] = now
        log.expires = now + window
    return -1, 0.0


class MemoryCache:
    """A process-local cache with TTLs and a bounded size (least recently set goes first)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._counters: dict[str, tuple[float, int]] = {}
        self._balances: dict[str, tuple[float, int]] = {}
        self._logs: dict[str, SlidingLog] = {}
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
            self._logs.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        now = time.monotonic()
        return [
            key
            for key, (expires, _) in self._data.items()
            if key.startswith(prefix) and expires >= now
        ]

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

    async def admit(
        self, keys: Sequence[str], limits: Sequence[int], window: float, member: str
    ) -> tuple[int, float]:
        # No await inside: the check and the add are one step for the event loop.
        now = time.monotonic()
        if len(self._logs) > self._max:
            self._logs = {k: log for k, log in self._logs.items() if log.expires > now}
        logs = [self._logs.setdefault(key, SlidingLog()) for key in keys]
        return admit_into(logs, limits, window, member, now)

    async def forget(self, key: str, member: str) -> None:
        log = self._logs.get(key)
        if log is not None:
            log.added.pop(member, None)

    async def ping(self) -> None:
        return None

    async def announce(self, topic: str) -> None:
        return None  # one process: nobody else to tell

    async def changes(self) -> AsyncIterator[str]:
        return
        yield  # an async generator that ends at once

    async def close(self) -> None:
        self._data.clear()
        self._counters.clear()
        self._balances.clear()
        self._logs.clear()
