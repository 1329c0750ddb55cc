"""Run the fake providers standalone (for load tests from another process).

    python -m bench.fakes --port 9100 --chunks 20 --chunk-delay 0.01

Requests are not recorded; every key gets the same scenario (magic ``fail-<status>`` keys
still fail).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bench.fakes.scenario import Scenario
from bench.fakes.server import FakeProviders


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fakes", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--text", default=Scenario.text)
    parser.add_argument("--chunks", type=int, default=Scenario.chunks)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds per chunk")
    parser.add_argument("--first-byte-delay", type=float, default=0.0, help="seconds")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    scenario = Scenario(
        text=args.text,
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        first_byte_delay=args.first_byte_delay,
    )
    async with FakeProviders.start(scenario, record=False, host=args.host, port=args.port) as fake:
        print(f"fake providers on {fake.url}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
