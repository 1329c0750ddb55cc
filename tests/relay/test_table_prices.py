"""Relayed calls to models only the packaged price table prices: billed at its ratios."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.relay.conftest import Relay
from tests.support.prices import packaged_prices

OPUS = "claude-opus-4-8"  # Claude Code's default model: in no option map, only in the table


async def test_claude_code_model_is_billed_from_the_table(relay: Relay) -> None:
    await relay.channel(type=14, models=OPUS, key="sk-ant-up")
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Hi", 100, 50
    scenario.cache_read_tokens = 1000
    claude = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    async with claude:
        reply = await claude.messages.create(
            model=OPUS, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.content[0].type == "text" and reply.content[0].text == "Hi"
    table = packaged_prices().lookup(OPUS)
    assert table is not None and table.completion_ratio and table.cache_ratio
    (log,) = await relay.logs(1)
    # Anthropic's published $/MTok as ratios: (input + cached x cache + output x completion) x ratio
    expected = (100 + 1000 * table.cache_ratio + 50 * table.completion_ratio) * table.model_ratio
    assert log["quota"] == round(expected) and log["quota"] > 0
    other = log["other"] if isinstance(log["other"], str) else str(log["other"])
    assert f'"model_ratio":{table.model_ratio}' in other.replace(" ", "")


async def test_a_model_nowhere_priced_still_answers_400(relay: Relay) -> None:
    await relay.channel(models="my-private-model")
    key = await relay.key()
    with pytest.raises(openai.BadRequestError) as refused:
        await relay.openai(key).chat.completions.create(
            model="my-private-model", messages=[{"role": "user", "content": "hi"}]
        )
    error = refused.value.body
    assert isinstance(error, dict) and error["code"] == "model_price_error"
