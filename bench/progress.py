"""A progress display on stderr: one line per step, with a live clock on a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator


class Progress:
    def __init__(self, *, live: bool | None = None) -> None:
        self.started = time.monotonic()
        self.live = sys.stderr.isatty() if live is None else live

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f}s]"

    def say(self, message: str) -> None:
        print(f"{self._stamp()} {message}", file=sys.stderr, flush=True)

    @contextlib.asynccontextmanager
    async def step(self, message: str, expected: float = 0.0) -> AsyncIterator[None]:
        """Announce a step; on a terminal, tick its elapsed time until it ends."""
        began = time.monotonic()
        suffix = f" (~{expected:.0f}s)" if expected else ""
        if not self.live:
            self.say(message + suffix)
            yield
            return

        async def tick() -> None:
            while True:
                spent = time.monotonic() - began
                line = f"\r{self._stamp()} {message}{suffix} ... {spent:4.1f}s"
                print(line, end="", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            spent = time.monotonic() - began
            print(f"\r{self._stamp()} {message} done in {spent:.1f}s", file=sys.stderr, flush=True)
