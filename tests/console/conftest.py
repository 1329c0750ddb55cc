"""What the console tests need, installed when missing: node_modules, a fresh build, Chromium.

``make test`` on a fresh machine gets here with none of them; each is made once per session and
only when missing or older than its sources (the same rule as ``make console``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.gateway import ROOT

CONSOLE = ROOT / "console"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BUILD_INPUTS = (
    "src",
    "scripts",
    "index.html",
    "vite.config.ts",
    "package.json",
    "package-lock.json",
)


def _newest(paths: list[Path]) -> float:
    times = [0.0]
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        times.extend(f.stat().st_mtime for f in files if f.is_file())
    return max(times)


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}):\n{result.stdout}\n{result.stderr}")


@contextmanager
def _console_lock() -> Iterator[None]:
    """One npm at a time in console/ (pytest-xdist runs the console's files on any worker)."""
    with open(CONSOLE / ".tests.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules() -> None:
    with _console_lock():
        _ensure_node_modules()


def _ensure_node_modules() -> None:
    if shutil.which("npm") is None:
        pytest.fail("the console tests need Node 20 and npm (see README: Set up)")
    installed = CONSOLE / "node_modules" / ".package-lock.json"
    lock = CONSOLE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        _run(["npm", "ci", "--no-audit", "--no-fund"], CONSOLE, "npm ci")
        installed.touch()


def ensure_build() -> Path:
    with _console_lock():
        _ensure_node_modules()
        return _ensure_build()


def _ensure_build() -> Path:
    index = CONSOLE / "dist" / "index.html"
    sources = _newest([CONSOLE / name for name in BUILD_INPUTS])
    if not index.exists() or index.stat().st_mtime < sources:
        _run(["npm", "run", "build"], CONSOLE, "the console build")
    return index.parent


def ensure_chromium() -> Path:
    """Debian's Chromium; installed with apt-get when missing and this user may."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr}")
    return CHROMIUM


@pytest.fixture(scope="session")
def node_modules() -> Path:
    ensure_node_modules()
    return CONSOLE / "node_modules"


@pytest.fixture(scope="session")
def console_build() -> Path:
    return ensure_build()


@pytest.fixture(scope="session")
def chromium() -> Path:
    return ensure_chromium()
