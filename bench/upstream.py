"""The bench's upstream: the shared fake providers in their own process, one scenario per key.

    python -m bench.upstream --port 9100

Every key the bench gives a channel (see :mod:`bench.plan`) has its own scenario, so a direct
call and a gateway call with the same key get the same answer. Two extra routes let the bench
read what arrived: ``GET /bench/counts`` (requests per key, and the key order of the failover
keys) and ``POST /bench/reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import Counter
from typing import Any

from aiohttp import typedefs as web_types
from aiohttp import web

from bench import plan
from bench.fakes import FakeProviders
from bench.fakes.google_checks import google_key
from bench.fakes.server import api_key

_ORDER_LIMIT = 10_000


class CountingFakes(FakeProviders):
    """The fake providers, counting requests per key (nothing else is recorded)."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.counts: Counter[str] = Counter()
        self.order: list[str] = []
        for key, scenario in plan.upstream_scenarios().items():
            self.channel(key, scenario)

    def application(self) -> web.Application:
        app = super().application()

        @web.middleware
        async def count(request: web.Request, handler: web_types.Handler) -> web.StreamResponse:
            if not request.path.startswith("/bench/"):
                key = api_key(request.headers, "openai") or google_key(request)
                self.counts[key] += 1
                if key in plan.FAILOVER_KEYS and len(self.order) < _ORDER_LIMIT:
                    self.order.append(key)
            return await handler(request)

        app.middlewares.append(count)
        app.router.add_get("/bench/counts", self._counts)
        app.router.add_post("/bench/reset", self._reset)
        return app

    async def _counts(self, _request: web.Request) -> web.Response:
        body: dict[str, Any] = {"counts": dict(self.counts), "order": self.order}
        return web.json_response(body)

    async def _reset(self, _request: web.Request) -> web.Response:
        self.counts.clear()
        self.order.clear()
        return web.json_response({"ok": True})


async def serve(host: str, port: int) -> None:
    fake = CountingFakes()
    await fake.open(host, port)
    print(f"upstream on {fake.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is absent on Windows only
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.host, args.port))


if __name__ == "__main__":
    main()
