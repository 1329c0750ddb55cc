"""The real client programs the tests drive (Google's Gemini CLI, Claude Code), pinned in
``tests/support/node_clients/package-lock.json`` and installed with ``npm ci`` on first use.

Each program runs with a fresh ``HOME`` holding settings that switch telemetry, update checks
and any other outside traffic off: nothing but loopback is reached.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CLIENTS = Path(__file__).parent / "node_clients"


@contextmanager
def _install_lock() -> Iterator[None]:
    with open(CLIENTS / ".install.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_clients() -> Path:
    """``node_modules/.bin`` of the pinned clients (``npm ci`` when missing or stale)."""
    if shutil.which("npm") is None:
        pytest.fail("the client-program tests need Node 20 and npm (see README: Set up)")
    with _install_lock():
        installed = CLIENTS / "node_modules" / ".package-lock.json"
        lock = CLIENTS / "package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=CLIENTS,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"npm ci of the client programs failed:\n{result.stderr[-3000:]}")
            installed.touch()
    return CLIENTS / "node_modules" / ".bin"


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    stdout: str
    stderr: str


async def run_program(
    argv: list[str], env: Mapping[str, str], cwd: Path, seconds: float = 120
) -> Finished:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        return Finished(-9, out.decode(errors="replace"), err.decode(errors="replace"))
    return Finished(
        process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
    )


def gemini_cli_home(home: Path) -> None:
    """``~/.gemini/settings.json`` for a headless, offline Gemini CLI."""
    settings = {
        "telemetry": {"enabled": False},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "ui": {"hideTips": True, "hideBanner": True},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "ide": {"enabled": False},
    }
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))


async def gemini_cli(
    bin_dir: Path, home: Path, base_url: str, key: str, prompt: str, model: str
) -> Finished:
    gemini_cli_home(home)
    work = home / "work"
    work.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "GEMINI_API_KEY": key,
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "NO_COLOR": "1",
        "CI": "1",
    }
    argv = [str(bin_dir / "gemini"), "-m", model, "-p", prompt, "--output-format", "json"]
    return await run_program(argv, env, work)


# Claude Code's switches for a run that reaches nothing but the gateway: no telemetry, update
# checks, error reports or other "nonessential" calls (release notes, feature flags).
CLAUDE_CODE_OFFLINE = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",  # a failure shows at once instead of after ten retries
}


def claude_code_home(home: Path) -> None:
    """``~/.claude/settings.json`` with the offline switches (``env``) and no onboarding."""
    settings = {"env": CLAUDE_CODE_OFFLINE, "includeCoAuthoredBy": False}
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(settings))
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))


async def claude_code(
    bin_dir: Path,
    home: Path,
    base_url: str,
    key: str,
    prompt: str,
    *,
    model: str | None = None,
    allowed_tools: tuple[str, ...] = (),
) -> Finished:
    """``claude -p PROMPT --output-format json`` in ``home/work`` against ``base_url``.

    ``model`` None keeps Claude Code's own default model; ``allowed_tools`` run without asking
    (headless ``-p`` refuses any other tool the model calls).
    """
    claude_code_home(home)
    work = home / "work"
    work.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": key,
        "NO_COLOR": "1",
        **CLAUDE_CODE_OFFLINE,
    }
    argv = [str(bin_dir / "claude"), "-p", prompt, "--output-format", "json"]
    if model is not None:
        argv += ["--model", model]
    if allowed_tools:
        argv += ["--allowedTools", ",".join(allowed_tools)]
    return await run_program(argv, env, work)
