"""The C load generators (``wrk``, ``h2load``), installed at run time when possible.

Each wrapper runs the tool once and parses its summary into the same figures the Python load
generator reports: completed requests, errors, requests/s and latency percentiles (seconds).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench import stats

# Debian packages: the tool's binary -> the package that holds it.
PACKAGES = {"wrk": "wrk", "h2load": "nghttp2-client", "nginx": "nginx"}
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def install_missing(names: list[str], log: list[str]) -> None:
    """``apt-get install`` the packages of missing tools (as root, Debian only); never fails."""
    missing = [PACKAGES[name] for name in names if not have(name)]
    if not missing or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        try:
            done = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.append(f"{' '.join(argv)}: {exc}")
            return
        if done.returncode != 0:
            log.append(f"{' '.join(argv)} exited {done.returncode}")
            return


def have(name: str) -> bool:
    if name == "nginx":
        return any(shutil.which(p) or os.access(p, os.X_OK) for p in ("nginx", "/usr/sbin/nginx"))
    return shutil.which(name) is not None


@dataclass
class ToolRun:
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50: float | None = None
    p99: float | None = None
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def parse_wrk(output: str) -> ToolRun:
    run = ToolRun()
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    if total is None:
        raise ValueError(f"wrk printed no summary:\n{output}")
    run.requests, run.elapsed = int(total.group(1)), _seconds(total.group(2))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    run.rps = float(rps.group(1)) if rps else 0.0
    for label, name in (("50%", "p50"), ("99%", "p99")):
        found = re.search(rf"^\s+{label}\s+([\d.]+\w+)\s*$", output, re.M)
        if found:
            setattr(run, name, _seconds(found.group(1)))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    run.errors = int(non_2xx.group(1)) if non_2xx else 0
    if sockets:
        run.errors += sum(int(g) for g in sockets.groups())
    return run


async def wrk(
    url: str, key: str, body: bytes, concurrency: int, seconds: float, workdir: Path
) -> ToolRun:
    """Closed-loop POSTs with ``concurrency`` connections on one wrk thread."""
    script = workdir / "wrk-post.lua"
    script.write_text(_WRK_SCRIPT.format(body=body.decode(), key=key))
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--latency", "--timeout", "30s"]
    argv += ["-s", str(script), url]
    output = await _run(argv, seconds + 60)
    return parse_wrk(output)


def parse_h2load(output: str, log_path: Path | None) -> ToolRun:
    run = ToolRun()
    finished = re.search(r"finished in ([\d.]+\w+), ([\d.]+) req/s", output)
    counts = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        output,
    )
    if finished is None or counts is None:
        raise ValueError(f"h2load printed no summary:\n{output}")
    run.elapsed, run.rps = _seconds(finished.group(1)), float(finished.group(2))
    total, succeeded = int(counts.group(1)), int(counts.group(4))
    status_2xx = re.search(r"status codes: (\d+) 2xx", output)
    run.requests = min(succeeded, int(status_2xx.group(1))) if status_2xx else succeeded
    run.errors = total - run.requests  # failed, errored, timed out or not 2xx
    if log_path is not None and log_path.exists():
        elapsed = [
            int(line.split("\t")[2]) / 1e6
            for line in log_path.read_text().splitlines()
            if line.count("\t") >= 2
        ]
        run.p50, run.p99 = stats.p50_p99(elapsed)
    return run


async def h2load(
    url: str,
    key: str,
    body: bytes,
    *,
    requests: int,
    clients: int,
    streams: int,
    http1: bool,
    workdir: Path,
) -> ToolRun:
    """``requests`` POSTs over ``clients`` connections with up to ``streams`` each."""
    data = workdir / "h2load-body.json"
    data.write_bytes(body)
    log_path = workdir / "h2load.log"
    log_path.unlink(missing_ok=True)
    argv = ["h2load", f"-n{requests}", f"-c{clients}", f"-m{streams}", "-d", str(data)]
    argv += ["-H", "content-type: application/json", "-H", f"authorization: Bearer {key}"]
    argv += ["--log-file", str(log_path)]
    if http1:
        argv.append("--h1")
    argv.append(url)
    output = await _run(argv, 300)
    return parse_h2load(output, log_path)


async def _run(argv: list[str], seconds: float) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return out.decode(errors="replace")
