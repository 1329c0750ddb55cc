"""The packaged price table: genai-prices' published $/MTok as new-api ratios.

Expected ratios are worked out here from genai-prices' own calculator (``calc_price`` on a
million tokens), not from the table's code, so a wrong conversion or a wrong match fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from genai_prices.types import _providers_from_raw

from newapi.billing import ratios
from newapi.billing.price_table import (
    PriceTable,
    provider_for_channel_type,
    with_table_ratios,
)
from newapi.routing import channel_types as ct
from tests.support.prices import packaged_prices

MTOK = 1_000_000
SAMPLE = 100_000  # below every long-context tier (Gemini, Claude and GPT-5.5 tier at 200K+)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def published(model: str, provider: str, at: datetime = NOON, **usage: int) -> Decimal:
    """USD per million tokens of ``usage`` (input plus output, leaving per-request fees out),
    by genai-prices' own calculator on :data:`SAMPLE` tokens."""
    tokens = {key: SAMPLE if value else 0 for key, value in usage.items()}
    calc = calc_price(Usage(**tokens), model, provider_id=provider, genai_request_timestamp=at)
    return (calc.input_price + calc.output_price) * MTOK / SAMPLE


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("claude-opus-4-8", "anthropic"),  # Claude Code's default model
        ("claude-sonnet-4-5-20250929", "anthropic"),
        ("claude-haiku-4-5", "anthropic"),
        ("gpt-5.5", "openai"),  # Codex's default model
        ("gpt-4o-mini", "openai"),
        ("o3", "openai"),
        ("gemini-3-pro-preview", "google"),
        ("gemini-2.5-flash", "google"),
        ("grok-4", "x-ai"),
        ("deepseek-chat", "deepseek"),
        ("mistral-large-latest", "mistral"),
        ("kimi-k2", "moonshotai"),
        ("sonar-pro", "perplexity"),
        ("command-r-plus", "cohere"),
    ],
)
def test_current_models_of_each_provider(model: str, provider: str) -> None:
    found = packaged_prices().lookup(model, at=NOON)
    assert found is not None and found.provider_id == provider
    input_usd = published(model, provider, input_tokens=MTOK)
    output_usd = published(model, provider, input_tokens=0, output_tokens=MTOK)
    assert found.model_ratio == pytest.approx(float(input_usd / 2))
    assert found.completion_ratio == pytest.approx(float(output_usd / input_usd))


def test_claude_opus_4_8_cache_ratios_from_the_published_prices() -> None:
    found = packaged_prices().lookup("claude-opus-4-8", at=NOON)
    assert found is not None
    usd = {
        key: published("claude-opus-4-8", "anthropic", input_tokens=MTOK, **{key: MTOK})
        for key in ("cache_read_tokens", "cache_write_tokens")
    }
    # A cached or written token is one of the input tokens: it is not billed at the input price.
    read = usd["cache_read_tokens"]
    write = usd["cache_write_tokens"]
    assert found.cache_ratio == pytest.approx(float(read / found.input_usd_per_mtok))
    assert found.create_cache_ratio == pytest.approx(float(write / found.input_usd_per_mtok))
    assert found.create_cache_1h_ratio == pytest.approx(found.create_cache_ratio * 1.6)


def test_tiered_prices_give_the_base_tier() -> None:
    found = packaged_prices().lookup("gemini-3-pro-preview", at=NOON)
    below_tier = published("gemini-3-pro-preview", "google", input_tokens=MTOK)
    long = calc_price(Usage(input_tokens=300_000), "gemini-3-pro-preview", provider_id="google")
    assert found is not None and found.model_ratio == pytest.approx(float(below_tier / 2))
    # the long-context tier costs more per token: not what the table bills
    assert long.input_price * MTOK / 300_000 > below_tier


def test_time_of_day_prices_follow_the_clock() -> None:
    table = packaged_prices()
    night = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    peak, off_peak = table.lookup("deepseek-chat", at=NOON), table.lookup("deepseek-chat", at=night)
    assert peak is not None and off_peak is not None and peak.time_of_day
    assert peak.model_ratio == pytest.approx(
        float(published("deepseek-chat", "deepseek", NOON, input_tokens=MTOK) / 2)
    )
    assert off_peak.model_ratio == pytest.approx(
        float(published("deepseek-chat", "deepseek", night, input_tokens=MTOK) / 2)
    )
    assert off_peak.model_ratio < peak.model_ratio


def test_dated_price_changes_take_effect_on_their_date() -> None:
    data = [
        {
            "id": "openai",
            "name": "OpenAI",
            "api_pattern": "x",
            "models": [
                {
                    "id": "gpt-dated",
                    "match": {"equals": "gpt-dated"},
                    "prices": [
                        {"prices": {"input_mtok": 2, "output_mtok": 8}},
                        {
                            "constraint": {"start_date": "2026-06-01"},
                            "prices": {"input_mtok": 4, "output_mtok": 8},
                        },
                    ],
                }
            ],
        }
    ]
    table = PriceTable(_providers_from_raw(data), source="test", version="1")
    before = table.lookup("gpt-dated", at=datetime(2026, 5, 31, tzinfo=UTC))
    after = table.lookup("gpt-dated", at=datetime(2026, 6, 1, tzinfo=UTC))
    assert before is not None and (before.model_ratio, before.completion_ratio) == (1.0, 4.0)
    assert after is not None and (after.model_ratio, after.completion_ratio) == (2.0, 2.0)


def test_names_match_case_insensitively_and_by_clause() -> None:
    table = packaged_prices()
    dated = table.lookup("claude-sonnet-4-5-20250929", at=NOON)
    assert dated is not None and dated.model_id == "claude-sonnet-4-5"
    assert table.lookup("GPT-4o-mini", at=NOON) == table.lookup("gpt-4o-mini", at=NOON)


def test_unknown_and_non_token_models_are_not_in_the_table() -> None:
    table = packaged_prices()
    assert table.lookup("my-private-model") is None
    assert table.lookup("tts-1") is None  # priced per character
    assert table.lookup("whisper-1") is None  # priced per hour of audio
    # Aggregators' resale prices are never a bare name's price.
    assert table.lookup("meta-llama/llama-3.1-8b-instruct") is None


def test_channel_types_map_to_providers() -> None:
    assert provider_for_channel_type(ct.ANTHROPIC) == "anthropic"
    assert provider_for_channel_type(ct.VERTEX_AI) == "google"
    assert provider_for_channel_type(ct.XAI) == "x-ai"
    assert provider_for_channel_type(ct.OLLAMA) is None
    table = packaged_prices()
    # Azure resells OpenAI's models: its scope falls back to OpenAI's prices where it has none.
    on_azure = table.lookup("gpt-4o", provider="azure", at=NOON)
    assert on_azure is not None and on_azure.model_ratio == pytest.approx(
        float(published("gpt-4o", "azure", input_tokens=MTOK) / 2)
    )
    # A scope without the model falls back to the unscoped search.
    assert table.lookup("grok-4", provider="anthropic", at=NOON) == table.lookup("grok-4", at=NOON)


def test_hand_typed_defaults_hold_only_what_the_table_lacks() -> None:
    table = packaged_prices()
    for name in [*ratios.DEFAULT_MODEL_RATIO, *ratios.DEFAULT_COMPLETION_RATIO]:
        assert table.lookup(name) is None, f"{name} is in the price table: drop the entry"
    assert not ratios.DEFAULT_CACHE_RATIO and not ratios.DEFAULT_CREATE_CACHE_RATIO


def test_with_table_ratios_writes_table_models_and_keeps_the_rest() -> None:
    table = packaged_prices()
    current = {"ModelRatio": {"claude-opus-4-8": 99.0, "mine": 3.0}, "CompletionRatio": {}}
    maps, written = with_table_ratios(
        current, table, ["claude-opus-4-8", "mine", "deepseek-chat", "gpt-5.5"], at=NOON
    )
    opus = table.lookup("claude-opus-4-8", at=NOON)
    assert opus is not None and written == ["claude-opus-4-8", "gpt-5.5"]
    assert maps["ModelRatio"]["claude-opus-4-8"] == opus.model_ratio
    assert maps["ModelRatio"]["mine"] == 3.0  # the table has no price for it: kept
    assert maps["CacheRatio"]["claude-opus-4-8"] == opus.cache_ratio
    assert maps["CreateCacheRatio"]["claude-opus-4-8"] == opus.create_cache_ratio
    assert "gpt-5.5" not in maps["CreateCacheRatio"]  # no cache-write price published
    # An hourly price frozen in an option would be wrong half the day: left to the table.
    assert "deepseek-chat" not in maps["ModelRatio"]
    assert current["ModelRatio"]["claude-opus-4-8"] == 99.0  # the input is not changed


def test_packaged_table_knows_its_version() -> None:
    from genai_prices import __version__

    info = packaged_prices().info
    assert (info.source, info.version) == ("packaged", __version__)
    assert info.providers > 10 and info.models > 500
