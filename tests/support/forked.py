"""Gateway processes forked from a server that imported newapi once (multiprocessing's
forkserver), instead of a fresh ``python -m newapi serve`` per test: the ~1.3 s of imports is
paid once per pytest worker, not once per gateway. A forked gateway runs ``newapi serve``
exactly as the command does (its own environment, working directory and log file)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

_CONTEXT = multiprocessing.get_context("forkserver")
# What every gateway imports before serving: imported in the fork server, shared by the forks.
_CONTEXT.set_forkserver_preload(["newapi.cli", "newapi.app", "hypercorn.asyncio", "uvloop"])


def _serve(cwd: str, env: dict[str, str], log_path: str) -> None:
    """The child: ``newapi serve`` with ``env`` as its whole environment."""
    os.chdir(cwd)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    from newapi.cli import main

    sys.exit(main(["serve"]))


class ForkedProcess:
    """The parts of :class:`asyncio.subprocess.Process` the tests use, over a forked child."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode  # polled (no thread ever waits on it: no race)

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    async def wait(self) -> int:
        # Polled: nothing signals a forked child's exit to the event loop, and a thread joining
        # it would race the ``returncode`` polls for the one exit status the fork server sends.
        while (code := self._process.exitcode) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return code


def start_forked(cwd: Path, env: Mapping[str, str], log_path: Path) -> ForkedProcess:
    process = _CONTEXT.Process(target=_serve, args=(str(cwd), dict(env), str(log_path)))
    process.start()
    return ForkedProcess(process)
