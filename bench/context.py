"""What every scenario gets: the running processes, the provisioned key, sizes and report."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

from bench import loadgen, procs, stats, tools
from bench.admin import Admin, Provisioned
from bench.plan import Sizes
from bench.procs import Child
from bench.progress import Progress
from bench.report import Report

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a load goes: ``direct`` (the upstream), ``nginx`` or ``newapi``."""

    name: str
    url: str  # base URL
    key: str

    @property
    def chat_url(self) -> str:
        return self.url + CHAT_PATH

    def gemini_stream_url(self, model: str) -> str:
        """Gemini's SSE stream method, as Gemini callers (google-genai, Gemini CLI) call it."""
        return f"{self.url}/v1beta/models/{model}:streamGenerateContent?alt=sse"


@dataclass
class LoadResult:
    requests: int
    errors: int
    rps: float
    p50: float | None
    p99: float | None
    cpu_seconds: float | None = None  # the gateway's CPU time during the run


@dataclass
class Bench:
    workdir: Path
    sizes: Sizes
    upstream: Child
    gateway: Child
    nginx: Child | None
    admin: Admin
    provisioned: Provisioned
    progress: Progress
    report: Report
    available: set[str] = field(default_factory=set)  # wrk, h2load
    gateway_env: dict[str, str] = field(default_factory=dict)  # extra env given to newapi

    def targets(self, upstream_key: str) -> list[Target]:
        found = [Target("direct", self.upstream.url, upstream_key)]
        if self.nginx is not None:
            found.append(Target("nginx", self.nginx.url, upstream_key))
        found.append(Target("newapi", self.gateway.url, self.provisioned.key))
        return found

    async def upstream_counts(self) -> tuple[dict[str, int], list[str]]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.upstream.url + "/bench/counts") as resp,
        ):
            body = orjson.loads(await resp.read())
        return dict(body["counts"]), list(body["order"])

    async def reset_upstream(self) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.upstream.url + "/bench/reset") as resp,
        ):
            await resp.read()

    @contextlib.asynccontextmanager
    async def gateway_cpu(self, target: Target) -> AsyncIterator[list[float]]:
        """Yields a list that holds the gateway's CPU seconds spent in the block (newapi only)."""
        spent: list[float] = []
        before = procs.cpu_seconds(self.gateway.pid)
        yield spent
        if target.name == "newapi":
            spent.append(procs.cpu_seconds(self.gateway.pid) - before)

    async def chat_load(
        self, target: Target, body: dict[str, object], concurrency: int, seconds: float
    ) -> LoadResult:
        """Closed-loop non-streaming requests: ``wrk`` when installed, else Python clients."""
        async with self.gateway_cpu(target) as cpu:
            if "wrk" in self.available:
                run = await tools.wrk(
                    target.chat_url,
                    target.key,
                    orjson.dumps(body),
                    concurrency,
                    seconds,
                    self.workdir,
                )
                result = LoadResult(run.requests, run.errors, run.rps, run.p50, run.p99)
            else:
                result = await self._python_chat(target, body, concurrency, seconds)
        result.cpu_seconds = cpu[0] if cpu else None
        return result

    async def _python_chat(
        self, target: Target, body: dict[str, object], concurrency: int, seconds: float
    ) -> LoadResult:
        spec = loadgen.Spec(
            url=target.chat_url,
            key=target.key,
            body=body,
            concurrency=concurrency,
            seconds=seconds,
        )
        run = await loadgen.run(spec, self.sizes.client_processes)
        p50, p99 = stats.p50_p99(run.latencies)
        rps = run.ok / run.elapsed if run.elapsed else 0.0
        return LoadResult(run.ok, run.errors, rps, p50, p99)


async def sample_rss(pid: int, stop: asyncio.Event, interval: float = 0.2) -> int:
    """The largest RSS of ``pid`` (and children) seen until ``stop`` is set."""
    largest = procs.rss_bytes(pid)
    while not stop.is_set():
        largest = max(largest, procs.rss_bytes(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return largest
