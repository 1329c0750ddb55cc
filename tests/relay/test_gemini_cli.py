"""Google's Gemini CLI (``@google/gemini-cli``, headless ``-p``) pointed at newapi."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.relay.conftest import Relay
from tests.support.clients import ensure_clients, gemini_cli


async def test_gemini_cli_on_openai_channel(relay: Relay, tmp_path: Path) -> None:
    bin_dir = ensure_clients()
    await relay.channel(type=1, models="gpt-4o-mini")
    key = await relay.key()
    relay.fake.scenario.text = "The answer is 42."
    done = await gemini_cli(
        bin_dir, tmp_path, relay.gateway.url, key, "What is 6*7?", "gpt-4o-mini"
    )
    assert done.code == 0, done.stderr[-3000:]
    answer = orjson.loads(done.stdout)
    assert answer["response"].strip() == "The answer is 42.", done.stdout
    paths = [r.path for r in relay.fake.requests]
    assert paths and set(paths) == {"/v1/chat/completions"}, paths
    logs = await relay.logs(len(paths))
    assert all(log["model_name"] == "gpt-4o-mini" and log["quota"] > 0 for log in logs)
