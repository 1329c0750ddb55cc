"""The processes under test: the upstream, newapi as ``make run`` serves it, and nginx.

Each is a child process on a loopback port, stopped when its context exits. CPU time and RSS
come from ``/proc`` (summed over the process and its children).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from newapi.config import variable_names

ROOT = Path(__file__).resolve().parents[1]
SESSION_SECRET = "bench-session-secret-0123456789"
_PR_SET_PDEATHSIG = 1
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
# The developer's own server settings must not change what the bench measures.
_SERVER_VARIABLES = variable_names()


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the bench dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _tree(pid: int) -> list[int]:
    seen: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo += [child for child in _children(current) if child != current]
    return seen


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its live children."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * _PAGE
    return total


@dataclass
class Child:
    """A started process and where it listens."""

    name: str
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def _spawn(
    name: str, argv: list[str], workdir: Path, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=workdir,
            env=dict(env) if env is not None else None,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


async def _wait_ready(child: Child, probe: str, seconds: float, ssl: bool = False) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    connector = aiohttp.TCPConnector(ssl=False) if ssl else None
    async with aiohttp.ClientSession(connector=connector) as http:
        while True:
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(child.url + probe) as resp:
                    if resp.status < 500:
                        return
            if loop.time() > deadline:
                raise TimeoutError(f"{child.name} did not start:\n{child.log_tail()}")
            await asyncio.sleep(0.1)


async def _stop(child: Child) -> None:
    if child.process.returncode is None:
        child.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), 15)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()


@contextlib.asynccontextmanager
async def upstream(workdir: Path) -> AsyncIterator[Child]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.upstream", "--port", str(port)]
    process = await _spawn("upstream", argv, workdir, {**os.environ, "PYTHONPATH": str(ROOT)})
    child = Child("upstream", process, f"http://127.0.0.1:{port}", workdir / "upstream.log")
    try:
        await _wait_ready(child, "/bench/counts", 30)
        yield child
    finally:
        await _stop(child)


def gateway_env(workdir: Path, port: int, hypercorn_config: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVER_VARIABLES}
    return {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "PORT": str(port),
        "SQLITE_PATH": str(workdir / "one-api.db"),
        "SESSION_SECRET": SESSION_SECRET,
        "MEMORY_CACHE_ENABLED": "true",
        "HYPERCORN_CONFIG": str(hypercorn_config),
        "BATCH_UPDATE_INTERVAL": "1",
        # The admin API is polled while the billing check waits for the batch writer.
        "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
        "SEARCH_RATE_LIMIT_ENABLE": "false",
    }


@contextlib.asynccontextmanager
async def gateway(
    workdir: Path,
    hypercorn_config: Path = ROOT / "hypercorn.toml",
    *,
    tls: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[Child]:
    """``python -m newapi migrate`` then ``python -m newapi serve --no-migrate`` (``make run``)."""
    port = free_port()
    env = {**gateway_env(workdir, port, hypercorn_config), **(extra_env or {})}
    migrate = await _spawn("migrate", [sys.executable, "-m", "newapi", "migrate"], workdir, env)
    if await migrate.wait() != 0:
        raise RuntimeError((workdir / "migrate.log").read_text(errors="replace"))
    argv = [sys.executable, "-m", "newapi", "serve", "--no-migrate"]
    name = "gateway-tls" if tls else "gateway"
    process = await _spawn(name, argv, workdir, env)
    scheme = "https" if tls else "http"
    child = Child(name, process, f"{scheme}://127.0.0.1:{port}", workdir / f"{name}.log")
    try:
        await _wait_ready(child, "/api/status", 60, ssl=tls)
        yield child
    finally:
        await _stop(child)


_NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 20000; }}
worker_rlimit_nofile 50000;
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000000;
    upstream fake {{ server {upstream}; keepalive 512; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@contextlib.asynccontextmanager
async def nginx(workdir: Path, upstream_url: str) -> AsyncIterator[Child]:
    """nginx as a plain reverse proxy to the upstream (``proxy_buffering off``)."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx")
    home = workdir / "nginx"
    home.mkdir(exist_ok=True)
    home.chmod(0o777)
    port = free_port()
    conf = home / "nginx.conf"
    target = upstream_url.removeprefix("http://")
    conf.write_text(_NGINX_CONF.format(dir=home, upstream=target, port=port))
    argv = [binary, "-c", str(conf), "-p", str(home)]
    if os.geteuid() == 0:
        argv += ["-g", "user root;"]
    process = await _spawn("nginx", argv, workdir)
    child = Child("nginx", process, f"http://127.0.0.1:{port}", workdir / "nginx.log")
    try:
        await _wait_ready(child, "/bench/counts", 15)
        yield child
    finally:
        await _stop(child)
