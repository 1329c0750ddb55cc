"""The console in a real browser: Debian's Chromium driven by playwright-core (console/e2e/run.mjs)
against a real newapi serving the built console, with the fake provider as the only upstream.

The journey: setup -> login -> language switch -> create a channel -> a multi-key channel: disable
one key, see its reason, enable all -> tag mode: switch a tag off and on, edit its priority -> test
a channel -> copy a channel, fetch the fake provider's models into the copy's editor, test all
channels in the background -> create a key -> chat in the playground and watch the answer stream ->
the request in the logs (with its stream status) -> error and manage logs -> a Vertex AI channel
(two service accounts, a per-model region map; inline errors first), its columns checked through
/api/channel/, reopened, its key type switched -> the dashboard charts (per model and per user) ->
pricing -> change a ratio and see the next request priced by it -> users, redemption codes -> phone
width -> logout -> a registered user's view.
Screenshots land in ``artifacts/console/`` (gitignored).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bench.fakes import FakeProviders
from bench.fakes.scenario import Scenario
from tests.conftest import StartGateway
from tests.console.conftest import CONSOLE
from tests.support.gateway import ROOT

SCREENSHOTS = ROOT / "artifacts" / "console"
ANSWER = "Streaming works: every piece of this answer arrives on its own."
EXPECTED_SHOTS = (
    "01-setup",
    "04c-key-status",
    "04e-tag-mode",
    "05-channels",
    "05c-fetched-models",
    "05d-vertex-editor",
    "08-playground",
    "09-logs",
    "10b-error-logs",
    "11-dashboard",
)


async def test_first_session_in_the_browser(
    start_gateway: StartGateway, console_build: Path, chromium: Path
) -> None:
    # Ten pieces 0.12 s apart: slow enough that the page must show the answer growing.
    scenario = Scenario(text=ANSWER, chunks=10, chunk_delay=0.12)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    async with FakeProviders.start(scenario) as fake:
        gateway = await start_gateway(BATCH_UPDATE_INTERVAL="1", ERROR_LOG_ENABLED="true")
        env = {
            **os.environ,
            "CONSOLE_URL": gateway.url,
            "FAKE_URL": fake.url,
            "EXPECTED_TEXT": ANSWER,
            "SCREENSHOT_DIR": str(SCREENSHOTS),
            "CHROMIUM": str(chromium),
        }
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "node",
            "e2e/run.mjs",
            cwd=CONSOLE,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), 120)
        except TimeoutError:
            process.kill()
            output, _ = await process.communicate()
            raise AssertionError(f"the browser run hung:\n{output.decode()}") from None
        report = output.decode()
        assert process.returncode == 0, f"{report}\nserver log:\n{gateway.log_text()[-4000:]}"
        assert "passed:" in report, report
        print(report)
        assert time.monotonic() - started < 90, report

        # The playground's request really went through the fake upstream, streamed.
        chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
        assert any(r.stream and r.model == "gpt-4o-mini" for r in chats), chats
        assert all(r.api_key == "sk-fake-upstream-key" for r in chats)
    for name in EXPECTED_SHOTS:
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 5_000, name
