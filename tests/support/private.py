"""Private Redis and PostgreSQL servers a test starts, stops and starts again (outage tests).

They never touch the shared services: each listens on its own free port. When a binary is
missing, the test skips outside CI and fails under ``CI=true`` (like :mod:`tests.support.services`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.gateway import free_port
from tests.support.services import in_ci

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def require_binary(path: str) -> str:
    found = shutil.which(path)
    if found:
        return found
    message = f"{path} is not installed"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message} (runs under CI=true)")


async def _wait_port(port: int, up: bool, seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                listening = True
        except OSError:
            listening = False
        if listening == up:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"port {port} did not go {'up' if up else 'down'}")
        await asyncio.sleep(0.05)


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{out.decode(errors='replace')}")


@dataclass
class _ServerProcess:
    """One private server process on a free port: killed, frozen and thawed as a whole."""

    port: int = 0
    process: asyncio.subprocess.Process | None = None

    async def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to the clients."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server dies on SIGKILL too
            self.process.kill()
            await self.process.wait()
        if self.port:
            await _wait_port(self.port, up=False)

    async def crash(self) -> None:
        await self.kill()

    def freeze(self) -> None:
        """A hung server: it accepts connections (the kernel does) but never answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@dataclass
class PrivateRedis(_ServerProcess):
    """``redis-server`` without persistence: a restart comes back empty, as after a crash."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = require_binary("redis-server")
        self.port = self.port or free_port()
        self.process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
        )
        await _wait_port(self.port, up=True)


@dataclass
class PrivatePostgres:
    """A private PostgreSQL cluster (trust auth) in a temporary directory, run as ``postgres``.

    The directory is not under pytest's ``tmp_path``: its parents are private to root, and the
    server runs as ``postgres``.
    """

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newapi-pg-")))
    port: int = 0

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> list[str]:
        binary = PG_BIN / tool
        if not binary.exists():
            require_binary(str(binary))
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", str(binary), *args]
        return [str(binary), *args]

    async def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        data = str(self.directory / "data")
        await _run(*self._as_postgres("initdb", "-D", data, "-A", "trust", "-U", "postgres"))
        self.port = free_port()

    async def start(self) -> None:
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        data = str(self.directory / "data")
        await _run(
            *self._as_postgres("pg_ctl", "start", "-w", "-D", data, "-l", log, "-o", options)
        )
        await _wait_port(self.port, up=True)

    async def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every backend dies at once, as in a crash."""
        data = str(self.directory / "data")
        await _run(*self._as_postgres("pg_ctl", "stop", "-w", "-m", "immediate", "-D", data))
        await _wait_port(self.port, up=False)

    def _pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """A hung server: connections are accepted (by the kernel), queries never answered."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    async def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        data = str(self.directory / "data")
        if (self.directory / "data" / "postmaster.pid").exists():
            await _run(*self._as_postgres("pg_ctl", "stop", "-w", "-m", "immediate", "-D", data))
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class PrivateMariaDB(_ServerProcess):
    """A private MariaDB server (root without a password) in a temporary directory."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newapi-my-")))

    @property
    def dsn(self) -> str:
        """A go-sql-driver DSN, as new-api users write it (the database is made by start)."""
        return f"root:@tcp(127.0.0.1:{self.port})/newapi?charset=utf8mb4&parseTime=True"

    async def create(self) -> None:
        install = require_binary("mariadb-install-db")
        data = str(self.directory / "data")
        await _run(
            install,
            *("--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db"),
            "--auth-root-authentication-method=normal",  # root by password (none), not socket
        )
        self.port = free_port()

    async def start(self) -> None:
        server = require_binary("mariadbd")
        self.process = await asyncio.create_subprocess_exec(
            server,
            *("--no-defaults", f"--datadir={self.directory / 'data'}", f"--port={self.port}"),
            *("--bind-address=127.0.0.1", f"--socket={self.directory / 'sock'}", "--user=root"),
            *("--skip-log-bin", "--innodb-buffer-pool-size=32M"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await _wait_port(self.port, up=True)
        client = require_binary("mariadb")
        sql = "CREATE DATABASE IF NOT EXISTS newapi CHARACTER SET utf8mb4"
        await _run(client, "-h127.0.0.1", f"-P{self.port}", "-uroot", "-e", sql)

    async def remove(self) -> None:
        await self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
