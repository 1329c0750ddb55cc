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


async def test_gemini_cli_on_gemini_channel(relay: Relay, tmp_path: Path) -> None:
    bin_dir = ensure_clients()
    await relay.channel(type=24, models="gemini-2.5-flash", key="AIza-channel-key")
    key = await relay.key()
    relay.fake.scenario.text = "Paris is the capital of France."
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 2000, 12
    done = await gemini_cli(
        bin_dir, tmp_path, relay.gateway.url, key, "Capital of France?", "gemini-2.5-flash"
    )
    assert done.code == 0, done.stderr[-3000:]
    answer = orjson.loads(done.stdout)
    assert answer["response"].strip() == "Paris is the capital of France.", done.stdout
    generated = [r for r in relay.fake.requests if r.path.endswith(":streamGenerateContent")]
    assert generated, [r.path for r in relay.fake.requests]
    assert all(r.headers["x-goog-api-key"] == "AIza-channel-key" for r in relay.fake.requests)
    logs = await relay.logs(len(generated))
    # gemini-2.5-flash: (2000 + 12 * 8.333) * 0.15 = 314.9994 -> 315 per generation
    assert [log["quota"] for log in logs] == [315] * len(generated)
    assert all(log["is_stream"] for log in logs)
