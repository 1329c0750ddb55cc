"""HTTP/2: the streaming scenario over h2c (prior knowledge) and TLS h2, against HTTP/1.1.

The same streaming requests over HTTP/1.1 on 100 connections (``wrk``: ``h2load --h1`` 1.52
counts Hypercorn's status line, which has an empty reason phrase, as a failure), then with
``h2load`` as 100 concurrent streams on one connection: h2c with prior knowledge, and TLS with
ALPN h2 on a second newapi process whose certificate is made at run time. Figures are
whole-stream request times.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson

from bench import plan, procs, tools
from bench.context import Bench, Target
from bench.scenarios.stream import body

SCENARIO = "http2"
STREAMS = 100


def make_certificate(workdir: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 (``openssl``); None when it cannot be made."""
    if shutil.which("openssl") is None:
        return None
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    argv += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    argv += ["-addext", "subjectAltName=IP:127.0.0.1"]
    done = subprocess.run(argv, capture_output=True, check=False, timeout=60)
    return (cert, key) if done.returncode == 0 else None


def tls_config(workdir: Path, cert: Path, key: Path) -> Path:
    """``hypercorn.toml`` plus the certificate: TLS on the same bind, ALPN h2 and http/1.1."""
    base = (procs.ROOT / "hypercorn.toml").read_text()
    path = workdir / "hypercorn-tls.toml"
    path.write_text(f'{base}\ncertfile = "{cert}"\nkeyfile = "{key}"\n')
    return path


async def _h2load(bench: Bench, target: Target) -> tools.ToolRun:
    return await tools.h2load(
        target.chat_url,
        target.key,
        orjson.dumps(body(plan.STREAM_MODEL)),
        requests=bench.sizes.h2_requests,
        clients=1,
        streams=STREAMS,
        http1=False,
        workdir=bench.workdir,
    )


async def _http1(bench: Bench, target: Target) -> tools.ToolRun:
    seconds = bench.sizes.seconds
    result = await bench.chat_load(target, body(plan.STREAM_MODEL), STREAMS, seconds)
    return tools.ToolRun(result.requests, result.errors, result.rps, result.p50, result.p99)


async def run(bench: Bench) -> None:
    if "h2load" not in bench.available:
        bench.report.notes.append("http2: h2load is not installed; scenario skipped")
        return
    runs: dict[str, tools.ToolRun] = {}
    direct, *_, gateway = bench.targets(plan.STREAM_KEY)
    for label, target in (("direct h1", direct), ("newapi h1", gateway)):
        async with bench.progress.step(f"http2: {label} (100 connections)", bench.sizes.seconds):
            runs[label] = await _http1(bench, target)
    async with bench.progress.step("http2: newapi h2c (100 streams, 1 connection)"):
        runs["newapi h2c"] = await _h2load(bench, gateway)
    tls = await _tls_run(bench)
    if tls is not None:
        runs["newapi h2 tls"] = tls
    _figures(bench, runs)


async def _tls_run(bench: Bench) -> tools.ToolRun | None:
    made = make_certificate(bench.workdir)
    if made is None:
        bench.report.notes.append("http2: no certificate (openssl missing); TLS h2 skipped")
        return None
    config = tls_config(bench.workdir, *made)
    label = "http2: newapi with TLS, h2 (100 streams, 1 connection)"
    async with (
        bench.progress.step(label),
        procs.gateway(bench.workdir, config, tls=True, extra_env=bench.gateway_env) as child,
    ):
        return await _h2load(bench, Target("newapi", child.url, bench.provisioned.key))


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def _figures(bench: Bench, runs: dict[str, tools.ToolRun]) -> None:
    report = bench.report
    details: dict[str, Any] = {label: vars(run) for label, run in runs.items()}
    bench.report.details[SCENARIO] = details
    h1 = runs["newapi h1"]
    for label, run in runs.items():
        step = f"{SCENARIO} {label}"
        for name, value, unit in (
            ("req/s", run.rps, "req/s"),
            ("request p50", _ms(run.p50), "ms"),
            ("request p99", _ms(run.p99), "ms"),
        ):
            figure = report.figure(step, name, unit)
            if label == "direct h1":
                figure.direct = value
            else:
                figure.newapi = value
        if label in ("newapi h2c", "newapi h2 tls") and h1.p99 and run.p99:
            figure = report.figure(step, "p99 vs newapi h1", "ratio", "≤ 1.5")
            figure.newapi = run.p99 / h1.p99
        expected = run.requests if label.endswith("h1") else bench.sizes.h2_requests
        report.check(
            f"{step}: every stream succeeds",
            run.errors == 0 and run.requests == expected and expected > 0,
            f"{run.requests} ok, {run.errors} errors",
        )
