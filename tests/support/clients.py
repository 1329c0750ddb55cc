"""The real client programs the tests drive (Google's Gemini CLI, Claude Code, OpenAI's Codex
CLI, the openai Node SDK and the Vercel AI SDK), pinned in
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
from typing import Any

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


# Codex's config.toml: a custom provider on the gateway speaking the Responses API. Without the
# [features] and [analytics] switches Codex reaches out to OpenAI (plugins, apps, analytics).
# Retries off so a failure shows at once; the sandbox lets the model's commands write the work
# dir, and nothing asks for approval (headless exec).
_CODEX_CONFIG = """\
model = "{model}"
model_provider = "newapi"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[model_providers.newapi]
name = "newapi"
base_url = "{base_url}/v1"
env_key = "NEWAPI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false
remote_plugin = false
apps = false

[analytics]
enabled = false
"""


async def codex(
    bin_dir: Path, home: Path, base_url: str, key: str, prompt: str, *, model: str
) -> Finished:
    """``codex exec --json --skip-git-repo-check PROMPT`` in ``home/work`` against ``base_url``.

    ``CODEX_HOME`` is ``home/.codex`` holding the config above; stdout is Codex's JSONL events.
    """
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(_CODEX_CONFIG.format(model=model, base_url=base_url))
    work = home / "work"
    work.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "NEWAPI_API_KEY": key,
        "NO_COLOR": "1",
    }
    argv = [str(bin_dir / "codex"), "exec", "--json", "--skip-git-repo-check", prompt]
    return await run_program(argv, env, work)


def codex_events(stdout: str) -> list[dict[str, Any]]:
    """The JSONL events ``codex exec --json`` printed."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


async def node_script(
    name: str, base_url: str, key: str, spec: Mapping[str, Any], cwd: Path
) -> Any:
    """Run ``node_clients/scripts/NAME`` with ``spec`` (JSON, argv[2]) and parse its JSON output.

    The scripts talk to ``base_url`` with ``key`` (``NEWAPI_BASE_URL``, ``NEWAPI_API_KEY``).
    """
    ensure_clients()
    env = {"HOME": str(cwd), "NEWAPI_BASE_URL": base_url + "/v1", "NEWAPI_API_KEY": key}
    script = CLIENTS / "scripts" / name
    done = await run_program(["node", str(script), json.dumps(spec)], env, cwd, seconds=60)
    if done.code != 0:
        pytest.fail(f"{name} {spec} failed ({done.code}):\n{done.stderr[-3000:]}{done.stdout}")
    return json.loads(done.stdout)
