"""The Python load generator: closed-loop chat or streaming callers, one process per share.

    python -m bench.loadgen spec.json result.json

Used for what the C tools cannot measure (time to first event, gaps between events, the HTTP
chunk framing of every event) and as the fallback when ``wrk`` is missing. The parent starts
several of these processes (:func:`run`) so one Python client is not the bottleneck, and merges
their samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench import procs

_EVENT_END = b"\n\n"
_CRLF = b"\r\n"
_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Spec:
    url: str  # full URL of the route (chat completions, a Gemini method, ...)
    key: str
    body: dict[str, Any]
    concurrency: int
    # The header carrying ``key``: ``Authorization`` as a Bearer token, any other as it is
    # (Gemini callers send ``x-goog-api-key``).
    key_header: str = "Authorization"
    stream: bool = False
    seconds: float = 0.0  # run until this long after start (0: use ``rounds``/``total``)
    rounds: int = 0  # requests per caller (0: use ``seconds``/``total``)
    total: int = 0  # requests over all callers of this process
    ramp: float = 0.0  # spread the callers' first requests over this many seconds
    start_at: float = 0.0  # wall clock (time.time()) to begin at, shared by the processes
    timeout: float = 60.0


@dataclass
class Result:
    ok: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # whole request, seconds
    ttfb: list[float] = field(default_factory=list)  # first event, seconds
    gaps: list[float] = field(default_factory=list)  # between consecutive events, seconds
    events: int = 0
    http_chunks: int = 0
    coalesced: int = 0  # HTTP chunks that carried more than one event
    elapsed: float = 0.0

    def merge(self, other: Result) -> None:
        self.ok += other.ok
        self.errors += other.errors
        for name in ("statuses", "error_kinds"):
            merged = Counter(getattr(self, name))
            merged.update(getattr(other, name))
            setattr(self, name, dict(merged))
        for name in ("latencies", "ttfb", "gaps"):
            getattr(self, name).extend(getattr(other, name))
        self.events += other.events
        self.http_chunks += other.http_chunks
        self.coalesced += other.coalesced
        self.elapsed = max(self.elapsed, other.elapsed)


def key_headers(spec: Spec) -> dict[str, str]:
    """The header that carries the spec's key, as its route expects it."""
    if spec.key_header.lower() == "authorization":
        return {"Authorization": f"Bearer {spec.key}"}
    return {spec.key_header: spec.key}


def count_events(data: bytes) -> int:
    """How many SSE events end in ``data``: a blank line ends one, whether lines end in
    ``\\n`` (OpenAI, newapi) or ``\\r\\n`` (Google's ``alt=sse``)."""
    if _CRLF in data:
        data = data.replace(_CRLF, b"\n")
    return data.count(_EVENT_END)


class _Caller:
    def __init__(self, spec: Spec, http: aiohttp.ClientSession, result: Result) -> None:
        self.spec = spec
        self.http = http
        self.result = result
        self.payload = orjson.dumps(spec.body)
        self.headers = {**key_headers(spec), "Content-Type": "application/json"}

    async def one(self) -> None:
        started = time.perf_counter()
        status = 0
        try:
            async with self.http.post(
                self.spec.url, data=self.payload, headers=self.headers
            ) as resp:
                status = resp.status
                if self.spec.stream and status == 200:
                    await self._read_stream(resp, started)
                else:
                    await resp.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._fail(type(exc).__name__)
            return
        self.result.statuses[str(status)] = self.result.statuses.get(str(status), 0) + 1
        if status != 200:
            self._fail(f"http {status}")
            return
        self.result.ok += 1
        self.result.latencies.append(time.perf_counter() - started)

    def _fail(self, kind: str) -> None:
        self.result.errors += 1
        self.result.error_kinds[kind] = self.result.error_kinds.get(kind, 0) + 1

    async def _read_stream(self, resp: aiohttp.ClientResponse, started: float) -> None:
        pending = b""
        last: float | None = None
        async for data, end_of_chunk in resp.content.iter_chunks():
            pending += data
            if not end_of_chunk:
                continue
            now = time.perf_counter()
            count = count_events(pending)
            pending = b""
            if count == 0:
                continue
            self.result.http_chunks += 1
            self.result.events += count
            self.result.coalesced += count > 1
            if last is None:
                self.result.ttfb.append(now - started)
            else:
                self.result.gaps.append(now - last)
            last = now


async def _caller(caller: _Caller, index: int, deadline: float, budget: list[int]) -> None:
    spec = caller.spec
    if spec.ramp > 0 and spec.concurrency > 1:
        await asyncio.sleep(spec.ramp * index / spec.concurrency)
    done = 0
    loop = asyncio.get_running_loop()
    while True:
        if spec.rounds and done >= spec.rounds:
            return
        if spec.seconds and loop.time() >= deadline:
            return
        if spec.total:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        await caller.one()
        done += 1


async def run_spec(spec: Spec) -> Result:
    result = Result()
    wait = spec.start_at - time.time()
    if wait > 0:
        await asyncio.sleep(wait)
    timeout = aiohttp.ClientTimeout(total=spec.timeout)
    connector = aiohttp.TCPConnector(limit=0, ssl=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        caller = _Caller(spec, http, result)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + spec.seconds
        budget = [spec.total]
        await asyncio.gather(
            *(_caller(caller, i, deadline, budget) for i in range(spec.concurrency))
        )
        result.elapsed = loop.time() - started
    return result


def main() -> None:
    spec_path, result_path = (Path(arg) for arg in sys.argv[1:3])
    spec = Spec(**orjson.loads(spec_path.read_bytes()))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is absent on Windows only
        runner = asyncio.run
    result = runner(run_spec(spec))
    result_path.write_bytes(orjson.dumps(asdict(result)))


def _split(count: int, parts: int) -> list[int]:
    return [count // parts + (i < count % parts) for i in range(parts)]


def _files(tmp: Path, index: int, spec: dict[str, Any]) -> tuple[Path, Path]:
    spec_path = tmp / f"spec-{index}.json"
    spec_path.write_bytes(orjson.dumps(spec))
    return spec_path, tmp / f"result-{index}.json"


def _read(path: Path) -> Result:
    return Result(**orjson.loads(path.read_bytes()))


async def run(spec: Spec, processes: int) -> Result:
    """Run ``spec`` split over ``processes`` client processes that start together."""
    processes = max(1, min(processes, spec.concurrency))
    shares, totals = _split(spec.concurrency, processes), _split(spec.total, processes)
    start_at = time.time() + 0.3 + 0.2 * processes
    merged = Result()
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        children = []
        for index, (share, total) in enumerate(zip(shares, totals, strict=True)):
            part = {**asdict(spec), "concurrency": share, "total": total, "start_at": start_at}
            spec_path, result_path = _files(Path(tmp), index, part)
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadgen",
                str(spec_path),
                str(result_path),
                cwd=_ROOT,
                preexec_fn=procs.die_with_parent,
            )
            children.append((child, result_path))
        codes = await asyncio.gather(*(child.wait() for child, _ in children))
        for code, (_, result_path) in zip(codes, children, strict=True):
            if code != 0:
                raise RuntimeError(f"a load generator exited with {code}")
            merged.merge(_read(result_path))
    return merged


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
