"""``python -m bench``: start everything on loopback, run the scenarios, print and save results."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import bars, loadgen, plan, procs, tools
from bench.admin import Admin, provision
from bench.context import Bench
from bench.progress import Progress
from bench.report import Report
from bench.scenarios import (
    billing,
    chat,
    fairness,
    gemini_stream,
    http2,
    open_streams,
    realtime,
    stream,
)

SCENARIOS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "chat": chat.run,
    "stream": stream.run,
    "gemini": gemini_stream.run,
    "open": open_streams.run,
    "fairness": fairness.run,
    "realtime": realtime.run,
    "http2": http2.run,
}
DEFAULT_OUT = procs.ROOT / "bench" / "results" / "latest.json"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the CI run (under 2 minutes)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios ({', '.join(SCENARIOS)}); billing always runs",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="do not apt-get install wrk, h2load, nginx"
    )
    parser.add_argument("--no-nginx", action="store_true", help="skip the nginx floor")
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for newapi (repeatable), e.g. RELAY_MAX_IDLE_CONNS_PER_HOST=4000",
    )
    return parser.parse_args(argv)


async def bench_run(args: argparse.Namespace, progress: Progress) -> Report:
    # SIGTERM ends the run like Ctrl-C: every started process is stopped on the way out.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    report = Report("short" if args.short else "full")
    chosen = _chosen(args.only)
    available = await _tools(args, progress, report)
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    if extra_env:
        report.notes.append(f"newapi ran with extra environment: {sorted(extra_env)}")
        report.details["gateway_env"] = extra_env
    with tempfile.TemporaryDirectory(prefix="newapi-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            bench = await _start(stack, Path(tmp), args, progress, report)
            bench.available, bench.gateway_env = available, extra_env
            await _scenarios(bench, chosen)
    bars.apply(report)
    return report


def _chosen(only: str) -> list[str]:
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return chosen


async def _tools(args: argparse.Namespace, progress: Progress, report: Report) -> set[str]:
    """The C load generators present (installed first unless ``--no-install``)."""
    if not args.no_install:
        async with progress.step("installing missing load tools (wrk, h2load, nginx)"):
            await asyncio.to_thread(tools.install_missing, ["wrk", "h2load", "nginx"], report.notes)
    available = {name for name in ("wrk", "h2load") if tools.have(name)}
    if "wrk" not in available:
        report.notes.append("wrk is not installed: the Python load generator measures chat")
    return available


async def _start(
    stack: contextlib.AsyncExitStack,
    workdir: Path,
    args: argparse.Namespace,
    progress: Progress,
    report: Report,
) -> Bench:
    """The upstream, newapi and nginx running, newapi provisioned: a :class:`Bench`."""
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    async with progress.step("starting the upstream, newapi and nginx"):
        upstream = await stack.enter_async_context(procs.upstream(workdir))
        gateway = await stack.enter_async_context(procs.gateway(workdir, extra_env=extra_env))
        proxy = None
        if not args.no_nginx and tools.have("nginx"):
            proxy = await stack.enter_async_context(procs.nginx(workdir, upstream.url))
        elif not args.no_nginx:
            report.notes.append("nginx is not installed: no floor measured")
    admin = Admin(gateway.url)
    stack.push_async_callback(admin.close)
    async with progress.step("provisioning root, channels and a key (admin API)"):
        provisioned = await provision(admin, upstream.url)
    sizes = plan.SHORT if args.short else plan.FULL
    return Bench(workdir, sizes, upstream, gateway, proxy, admin, provisioned, progress, report)


async def _scenarios(bench: Bench, chosen: list[str]) -> None:
    """Warm up, run the chosen scenarios, check billing; HTTP/2 last (it adds a second newapi
    process on the same database, after the billing check)."""
    before = {
        **await bench.admin.balances(bench.provisioned.token_id),
        **await bench.admin.logged(),
    }
    async with bench.progress.step("warming up (every target, every model)"):
        await warm_up(bench)
    for name in chosen:
        if name != "http2":
            await SCENARIOS[name](bench)
    await billing.run(bench, before)
    if "http2" in chosen:
        await http2.run(bench)


async def warm_up(bench: Bench) -> None:
    """A few calls of each kind first, so no figure includes first-use costs (connections,
    lazy imports, tokenizer loading)."""
    kinds = (
        (plan.CHAT_KEY, plan.CHAT_BODY, 200),
        (plan.STREAM_KEY, stream.body(plan.STREAM_MODEL), 20),
        (plan.OPEN_KEY, stream.body(plan.OPEN_MODEL), 10),
    )
    specs = [
        loadgen.Spec(
            url=target.chat_url,
            key=target.key,
            body=body,
            concurrency=10,
            stream=bool(body.get("stream")),
            total=count,
        )
        for key, body, count in kinds
        for target in bench.targets(key)
    ]
    gemini = gemini_stream.streams(bench)
    specs += [
        loadgen.Spec(
            url=gemini.url(target),
            key=target.key,
            body=gemini.body,
            concurrency=10,
            key_header=gemini.key_header,
            stream=True,
            total=20,
        )
        for target in bench.targets(gemini.upstream_key)
    ]
    await asyncio.gather(*(loadgen.run_spec(spec) for spec in specs))


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    progress = Progress()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is absent on Windows only
        runner = asyncio.run
    report = runner(bench_run(args, progress))
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    report.write(args.out)
    print(f"results written to {args.out}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
