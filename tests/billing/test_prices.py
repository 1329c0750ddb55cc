"""Price lookup from the option maps: modes, completion-ratio rules, cache and group ratios."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from newapi.billing.prices import (
    Price,
    PriceNotSet,
    accepts_unset_models,
    completion_ratio,
    hardcoded_completion_ratio,
    price_for,
    price_source,
)
from newapi.errors import PriceNotConfigured
from newapi.options import Options
from tests.support.prices import packaged_prices


def options(**values: Any) -> Options:
    """Default options with some keys replaced (maps given as Python objects), carrying the
    packaged price table as the gateway's do."""
    stored = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return Options(stored, packaged_prices())


def test_gpt_4o_from_the_default_options() -> None:
    assert price_for(options(), "gpt-4o", "default", "default") == Price(
        model_ratio=1.25,
        completion_ratio=4,
        cache_ratio=0.5,
        create_cache_ratio=1.25,
        create_cache_1h_ratio=2.0,
        group_ratio=1,
        model_price=None,
        audio_ratio=None,
        audio_completion_ratio=1,
        user_group_ratio=None,
    )


@pytest.mark.parametrize(
    ("model", "ratio", "completion", "audio", "audio_completion"),
    [
        ("tts-1", 7.5, 1, None, 1),  # $15 per 1M characters
        ("tts-1-hd", 15.0, 1, None, 1),
        ("whisper-1", 3.0, 1, None, 1),  # $0.006 a minute at 1000 tokens a minute
        ("gpt-4o-transcribe", 1.25, 4, 2.4, 1),  # text $2.50, audio $6, output $10 per 1M
        ("gpt-4o-mini-transcribe", 0.625, 4, 2.4, 1),
        ("gpt-realtime", 2.0, 4, 8, 2),  # audio in $32, audio out $64 per 1M
        ("gpt-4o-realtime-preview", 2.5, 4, 8, 2),  # new-api: audio completion 1 here
        ("gpt-4o-mini-realtime-preview", 0.3, 4, 16.667, 2),
    ],
)
def test_audio_models_are_priced_out_of_the_box(
    model: str, ratio: float, completion: float, audio: float | None, audio_completion: float
) -> None:
    price = price_for(options(), model, "default", "default")
    assert (price.model_ratio, price.completion_ratio, price.model_price) == (
        ratio,
        completion,
        None,
    )
    assert (price.audio_ratio, price.audio_completion_ratio) == (audio, audio_completion)


def test_dall_e_2_is_priced_per_call_out_of_the_box() -> None:
    price = price_for(options(), "dall-e-2", "default", "default")
    assert price.model_price == 0.02 and price.quota_type == 1


def test_claude_defaults_have_cache_read_and_write_ratios() -> None:
    price = price_for(options(), "claude-sonnet-4-5-20250929", "default", "default")
    assert (price.model_ratio, price.completion_ratio) == (1.5, 5)
    assert (price.cache_ratio, price.create_cache_ratio, price.create_cache_1h_ratio) == (
        0.1,
        1.25,
        2.0,
    )
    assert price.quota_type == 0


def test_model_price_is_per_call_mode_and_zeroes_the_token_ratios() -> None:
    price = price_for(options(), "dall-e-3", "default", "default")
    assert price.model_price == 0.04
    assert price.quota_type == 1
    assert (price.model_ratio, price.completion_ratio, price.cache_ratio) == (0, 0, 0)


def test_model_price_wins_over_a_model_ratio() -> None:
    opts = options(ModelRatio={"m": 2}, ModelPrice={"m": 0.1})
    price = price_for(opts, "m", "default", "default")
    assert price.model_price == 0.1
    assert price.quota_type == 1


def test_unknown_model_raises_price_not_set() -> None:
    with pytest.raises(PriceNotSet) as caught:
        price_for(options(), "no-such-model", "default", "default")
    assert caught.value.model == "no-such-model"
    assert "no-such-model" in caught.value.message
    # One of the relay errors: new-api's model_price_error, as a 400 that no client retries.
    assert isinstance(caught.value, PriceNotConfigured)
    assert (caught.value.http_status, caught.value.error_code) == (400, "model_price_error")


def test_self_use_mode_prices_unknown_models_at_37_5() -> None:
    price = price_for(options(SelfUseModeEnabled="true"), "mystery", "default", "default")
    assert price.model_ratio == 37.5
    assert price.model_price is None


def test_accept_unset_user_setting_prices_unknown_models_at_37_5() -> None:
    price = price_for(options(), "mystery", "default", "default", accept_unset=True)
    assert price.model_ratio == 37.5


@pytest.mark.parametrize(
    ("setting", "accepts"),
    [
        ('{"accept_unset_model_ratio_model": true}', True),
        ('{"notify_type": "email", "accept_unset_model_ratio_model": true}', True),
        ('{"accept_unset_model_ratio_model": false}', False),
        ('{"accept_unset_model_ratio_model": "true"}', False),
        ('{"accept_unset_model_ratio_model": 1}', False),
        ('["accept_unset_model_ratio_model"]', False),
        ('{"accept_unset_model_ratio_model": tru', False),
        ("", False),
        (None, False),
    ],
)
def test_the_user_setting_that_accepts_unset_models(setting: Any, accepts: bool) -> None:
    assert accepts_unset_models(setting) is accepts


def test_unusable_map_values_count_as_unset() -> None:
    # Rows written by other nodes bypass validation: strings, booleans, negatives are ignored.
    opts = options(ModelRatio={"a": "1.5", "b": True, "c": -1})
    for model in ("a", "b", "c"):
        with pytest.raises(PriceNotSet):
            price_for(opts, model, "default", "default")


def test_a_zero_ratio_is_a_free_model_not_an_unset_one() -> None:
    price = price_for(options(ModelRatio={"free": 0}), "free", "default", "default")
    assert price.model_ratio == 0
    assert price.is_free


@pytest.mark.parametrize(
    ("model", "configured", "expected"),
    [
        # locked rules beat the map
        ("claude-3-7-sonnet-20250219", 2, 5),
        ("claude-opus-4-1-20250805", 1, 5),
        ("claude-haiku-4-5-20251001", None, 5),
        ("gpt-4o-2024-05-13", 9, 3),
        ("gpt-5", 2, 8),
        ("gpt-5-mini", None, 8),
        ("gpt-5.4", 9, 6),
        ("gpt-5.4-nano", None, 6.25),
        ("gpt-4.5-preview", None, 2),
        ("gpt-4-turbo", 1, 3),
        ("gpt-4-turbo-2024-04-09", None, 3),
        ("gpt-3.5-turbo", 1, 3),
        ("gpt-3.5-turbo-0125", None, 3),
        ("gpt-3.5-turbo-1106", None, 2),
        ("gpt-3.5-turbo-16k", None, 4 / 3),
        ("o1-mini", 1, 4),
        ("o3", 1, 4),
        ("chatgpt-4o-latest", 1, 3),
        ("mistral-large-latest", 1, 3),
        ("gemini-1.5-pro", 1, 4),
        ("gemini-2.0-flash", 1, 4),
        # unlocked rules only fill in when the map has no entry
        ("gpt-4o", 3, 3),
        ("gpt-4o", None, 4),
        ("gpt-4o-mini", None, 4),
        ("gpt-5.1", None, 8),
        ("gpt-5.1", 5, 5),
        ("gpt-4", None, 2),
        ("gpt-4", 3, 3),
        ("gpt-4-all", None, 2),
        ("gpt-4-gizmo-*", None, 2),
        ("gemini-2.5-pro", None, 8),
        ("gemini-2.5-pro", 7, 7),
        ("gemini-2.5-flash", None, 2.5 / 0.3),
        ("gemini-2.5-flash-lite", None, 4),
        ("gemini-2.5-flash-preview-05-20", None, 3.5 / 0.15),
        ("gemini-2.5-flash-preview-05-20-nothinking", None, 4),
        ("gemini-3-pro-preview", None, 6),
        ("gemini-3-pro-image-preview", None, 60),
        ("gemini-exp", None, 4),
        ("o4-mini", None, 1),
        ("o4-mini", 4, 4),
        ("deepseek-chat", None, 1),
        ("deepseek-chat", 4, 4),
        # provider-prefixed names read the map first, even over a locked family rule
        ("anthropic/claude-3-5-sonnet", 2, 2),
        ("anthropic/claude-3-5-sonnet", None, 5),
    ],
)
def test_completion_ratio_rules(model: str, configured: float | None, expected: float) -> None:
    # new-api's rules apply to models the price table does not know: no table here
    ratios = {} if configured is None else {model: configured}
    opts = Options({"CompletionRatio": json.dumps(ratios)})
    assert completion_ratio(opts, model) == pytest.approx(expected)


def test_completion_ratio_comes_from_the_option_map() -> None:
    configured = options(ModelRatio={"m": 1}, CompletionRatio={"m": 4})
    assert price_for(configured, "m", "default", "default").completion_ratio == 4


def test_unknown_cache_ratios_default_to_1_and_1_25() -> None:
    price = price_for(options(ModelRatio={"m": 1}), "m", "default", "default")
    assert (price.cache_ratio, price.create_cache_ratio, price.create_cache_1h_ratio) == (
        1,
        1.25,
        2.0,
    )


def test_one_hour_cache_write_is_the_five_minute_ratio_times_1_6() -> None:
    opts = options(ModelRatio={"m": 1}, CacheRatio={"m": 0.2}, CreateCacheRatio={"m": 1.5})
    price = price_for(opts, "m", "default", "default")
    assert price.cache_ratio == 0.2
    assert price.create_cache_ratio == 1.5
    assert price.create_cache_1h_ratio == 2.4  # 1.5 x 1.6, exact in decimal


def test_group_ratio_from_group_ratio_map() -> None:
    opts = options(GroupRatio={"default": 1, "vip": 0.5})
    price = price_for(opts, "gpt-4o", "vip", "default")
    assert price.group_ratio == 0.5
    assert price.user_group_ratio is None


def test_unknown_group_ratio_is_1() -> None:
    assert price_for(options(), "gpt-4o", "nowhere", "default").group_ratio == 1


def test_group_group_ratio_overrides_for_the_user_group() -> None:
    opts = options(
        GroupRatio={"default": 1, "vip": 0.5},
        GroupGroupRatio={"svip": {"vip": 0.3}, "default": {"other": 9}},
    )
    special = price_for(opts, "gpt-4o", "vip", "svip")
    assert (special.group_ratio, special.user_group_ratio) == (0.3, 0.3)
    # A user of another group spending from vip pays vip's own ratio.
    plain = price_for(opts, "gpt-4o", "vip", "default")
    assert (plain.group_ratio, plain.user_group_ratio) == (0.5, None)


def test_unusable_group_group_ratio_entries_are_ignored() -> None:
    opts = options(
        GroupRatio={"vip": 0.5},
        GroupGroupRatio={"a": {"vip": True}, "b": "x", "c": {"vip": -2}},
    )
    for user_group in ("a", "b", "c"):
        assert price_for(opts, "gpt-4o", "vip", user_group).group_ratio == 0.5


def test_group_ratio_applies_in_price_mode_too() -> None:
    opts = options(GroupRatio={"vip": 0.5})
    price = price_for(opts, "dall-e-3", "vip", "default")
    assert (price.model_price, price.group_ratio) == (0.04, 0.5)


def test_audio_ratios() -> None:
    opts = options(
        ModelRatio={"gpt-4o-audio-preview": 1.25, "gpt-4o": 1.25},
        AudioRatio={"gpt-4o-audio-preview": 16},
        AudioCompletionRatio={"gpt-4o-audio-preview": 2},
    )
    price = price_for(opts, "gpt-4o-audio-preview", "default", "default")
    assert (price.audio_ratio, price.audio_completion_ratio) == (16, 2)
    plain = price_for(opts, "gpt-4o", "default", "default")
    assert (plain.audio_ratio, plain.audio_completion_ratio) == (None, 1)


@pytest.mark.parametrize(
    ("price", "free"),
    [
        (Price(model_ratio=1.25), False),
        (Price(model_ratio=0), True),
        (Price(model_ratio=1.25, group_ratio=0), True),
        (Price(model_price=0.04), False),
        (Price(model_price=0), True),
    ],
)
def test_is_free(price: Price, free: bool) -> None:
    assert price.is_free is free


def test_price_is_frozen() -> None:
    price = Price(model_ratio=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.model_ratio = 2  # type: ignore[misc]


# ---- the packaged price table ------------------------------------------------------------------

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "model",
    ["claude-opus-4-8", "gpt-5.5", "gemini-3-pro-preview", "grok-4", "deepseek-chat", "o3"],
)
def test_coding_agents_models_are_priced_out_of_the_box(model: str) -> None:
    table = packaged_prices().lookup(model, at=NOON)
    price = price_for(options(), model, "default", "default", at=NOON)
    assert table is not None and price.model_ratio == table.model_ratio > 0
    assert price.completion_ratio == table.completion_ratio
    assert price.cache_ratio == table.cache_ratio
    assert price_source(options(), model, at=NOON) == "table"


def test_claude_opus_4_8_cache_write_ratios_come_from_the_table() -> None:
    price = price_for(options(), "claude-opus-4-8", "default", "default")
    # Anthropic: $5 in, $25 out, $0.50 cache read, $6.25 / $10 5-minute / 1-hour writes
    table = packaged_prices().lookup("claude-opus-4-8")
    assert table is not None
    assert (price.create_cache_ratio, price.create_cache_1h_ratio) == (
        table.create_cache_ratio,
        table.create_cache_1h_ratio,
    )


def test_an_admins_option_beats_the_table() -> None:
    opts = options(
        ModelRatio={"claude-opus-4-8": 9},
        CacheRatio={"claude-opus-4-8": 0.5},
        CreateCacheRatio={"claude-opus-4-8": 2},
    )
    price = price_for(opts, "claude-opus-4-8", "default", "default")
    assert (price.model_ratio, price.cache_ratio, price.create_cache_ratio) == (9, 0.5, 2)
    assert price.create_cache_1h_ratio == pytest.approx(3.2)  # the configured write x 1.6
    assert price_source(opts, "claude-opus-4-8") == "option"


def test_a_per_call_price_beats_the_table() -> None:
    opts = options(ModelPrice={"gpt-5.5": 0.1})
    price = price_for(opts, "gpt-5.5", "default", "default")
    assert (price.model_price, price.model_ratio, price.quota_type) == (0.1, 0.0, 1)


def test_unlocked_completion_ratio_option_beats_the_table() -> None:
    # gpt-5.5: dotted gpt-5.x, unlocked; the table says 6 ($30 / $5)
    opts = options(CompletionRatio={"gpt-5.5": 7})
    assert completion_ratio(opts, "gpt-5.5") == 7
    assert completion_ratio(options(), "gpt-5.5", at=NOON) == pytest.approx(6)


def test_the_table_beats_a_locked_completion_ratio() -> None:
    # new-api locks every mistral-* at 3; Mistral publishes mistral-medium at $0.40 / $2.00
    table = packaged_prices().lookup("mistral-medium-latest")
    assert table is not None and table.completion_ratio is not None
    assert hardcoded_completion_ratio("mistral-medium-latest") == (3, True)
    opts = options(CompletionRatio={"mistral-medium-latest": 9})  # locked: ignored
    assert completion_ratio(opts, "mistral-medium-latest") == table.completion_ratio != 3


def test_hand_typed_defaults_price_what_the_table_lacks() -> None:
    assert packaged_prices().lookup("text-embedding-004") is None
    assert price_for(options(), "text-embedding-004", "default", "default").model_ratio == 0.001
    assert price_source(options(), "text-embedding-004") == "default"


def test_a_model_neither_in_the_options_nor_the_table_is_not_priced() -> None:
    with pytest.raises(PriceNotSet):
        price_for(options(), "my-private-model", "default", "default")
    assert price_source(options(), "my-private-model") is None


def test_without_a_table_only_the_options_price() -> None:
    with pytest.raises(PriceNotSet):
        price_for(Options({}), "claude-opus-4-8", "default", "default")


def test_gemini_thinking_variants_are_priced_as_their_base_model_from_the_table() -> None:
    base = price_for(options(), "gemini-2.5-flash", "default", "default")
    variant = price_for(options(), "gemini-2.5-flash-thinking-1024", "default", "default")
    assert variant.model_ratio == base.model_ratio > 0


def test_deepseek_is_priced_at_the_time_of_the_call() -> None:
    night = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    peak = price_for(options(), "deepseek-chat", "default", "default", at=NOON)
    off_peak = price_for(options(), "deepseek-chat", "default", "default", at=night)
    assert off_peak.model_ratio < peak.model_ratio
