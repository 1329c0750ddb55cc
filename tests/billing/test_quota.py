"""Golden quotas: every expected number is worked out by hand in the comment beside it.

Quota per unit is 500 000 (1 USD) throughout.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from newapi.billing.prices import Price, price_for
from newapi.billing.quota import describe, log_other, quota_for, reserve_for, uses_audio_price
from newapi.options import Options
from newapi.protocol.usage import Usage, from_claude, from_openai
from tests.support.prices import packaged_prices

QPU = 500_000
GPT_4O = Price(model_ratio=1.25, completion_ratio=4, cache_ratio=0.5)
SONNET = Price(
    model_ratio=1.5,
    completion_ratio=5,
    cache_ratio=0.1,
    create_cache_ratio=1.25,
    create_cache_1h_ratio=2.0,
)
GPT_4O_AUDIO = Price(model_ratio=1.25, completion_ratio=4, audio_ratio=16, audio_completion_ratio=2)


def options(**values: Any) -> Options:
    return Options({k: json.dumps(v) for k, v in values.items()}, packaged_prices())


# ---- ratio mode -------------------------------------------------------------------------------


def test_gpt_4o_plain() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    # (1000 + 500 x 4) x 1.25 x 1 = 3000 x 1.25 = 3750
    assert quota_for(usage, GPT_4O, QPU) == 3750


def test_gpt_4o_priced_from_the_default_options() -> None:
    price = price_for(options(), "gpt-4o", "default", "default")
    # same as above: (1000 + 500 x 4) x 1.25 = 3750
    assert quota_for(Usage(prompt_tokens=1000, completion_tokens=500), price, QPU) == 3750


def test_gpt_4o_with_cached_tokens_openai_semantics() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1536},
        }
    )
    # uncached 2000 - 1536 = 464; cached 1536 x 0.5 = 768; completion 300 x 4 = 1200
    # (464 + 768 + 1200) x 1.25 = 2432 x 1.25 = 3040
    assert quota_for(usage, GPT_4O, QPU) == 3040


def test_claude_sonnet_with_cache_read_and_5m_and_1h_writes() -> None:
    usage = from_claude(
        {
            "input_tokens": 120,
            "cache_read_input_tokens": 10_000,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 2000,
                "ephemeral_1h_input_tokens": 1000,
            },
            "output_tokens": 800,
        }
    )
    # 120 + 10000 x 0.1 + 2000 x 1.25 + 1000 x 2 + 800 x 5
    # = 120 + 1000 + 2500 + 2000 + 4000 = 9620; x 1.5 = 14430
    assert quota_for(usage, SONNET, QPU) == 14430


def test_claude_sonnet_priced_from_the_default_options() -> None:
    price = price_for(options(), "claude-sonnet-4-5-20250929", "default", "default")
    usage = from_claude(
        {
            "input_tokens": 120,
            "cache_read_input_tokens": 10_000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 2000,
                "ephemeral_1h_input_tokens": 1000,
            },
            "output_tokens": 800,
        }
    )
    # as above: 9620 x 1.5 = 14430
    assert quota_for(usage, price, QPU) == 14430


def test_new_api_5003_large_cache_reads_never_go_negative() -> None:
    # Claude reports cache reads beside input_tokens; new-api once subtracted them again.
    usage = from_claude(
        {
            "input_tokens": 3,
            "cache_read_input_tokens": 50_000,
            "cache_creation_input_tokens": 2000,
            "output_tokens": 500,
        }
    )
    assert usage.uncached_prompt_tokens == 3
    # 3 + 50000 x 0.1 + 2000 x 1.25 + 500 x 5 = 3 + 5000 + 2500 + 2500 = 10003
    # 10003 x 1.5 = 15004.5 -> 15005 (half away from zero)
    assert quota_for(usage, SONNET, QPU) == 15005


def test_cached_tokens_reported_above_the_prompt_are_clamped() -> None:
    # An OpenAI-format upstream that leaves cache reads out of prompt_tokens.
    usage = from_openai(
        {
            "prompt_tokens": 3,
            "completion_tokens": 500,
            "prompt_tokens_details": {"cached_tokens": 50_000},
        }
    )
    assert (usage.cache_read_tokens, usage.uncached_prompt_tokens) == (3, 0)
    # 0 + 3 x 0.1 + 500 x 5 = 2500.3; x 1.5 = 3750.45 -> 3750
    assert quota_for(usage, SONNET, QPU) == 3750


def test_group_ratio_half() -> None:
    opts = options(GroupRatio={"default": 1, "vip": 0.5})
    price = price_for(opts, "gpt-4o", "vip", "default")
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    # (1000 + 500 x 4) x 1.25 x 0.5 = 3000 x 0.625 = 1875
    assert quota_for(usage, price, QPU) == 1875


def test_group_group_ratio_override() -> None:
    opts = options(GroupRatio={"default": 1, "vip": 0.5}, GroupGroupRatio={"svip": {"vip": 0.8}})
    price = price_for(opts, "gpt-4o", "vip", "svip")
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    # (1000 + 500 x 4) x 1.25 x 0.8 = 3000 x 1 = 3000
    assert quota_for(usage, price, QPU) == 3000


def test_minimum_charge_is_1() -> None:
    price = Price(model_ratio=0.075, completion_ratio=4)
    # 1 x 0.075 = 0.075 -> rounds to 0 -> raised to the minimum 1
    assert quota_for(Usage(prompt_tokens=1), price, QPU) == 1


def test_minimum_charge_also_when_every_prompt_token_was_a_free_cache_read() -> None:
    price = Price(model_ratio=1, cache_ratio=0)
    usage = Usage(prompt_tokens=100, cache_read_tokens=100)
    # 0 + 100 x 0 = 0 -> minimum 1 (ratio 1 x 1 is not 0)
    assert quota_for(usage, price, QPU) == 1


@pytest.mark.parametrize("price", [Price(model_ratio=0), Price(model_ratio=1.25, group_ratio=0)])
def test_free_model_or_free_group_costs_0(price: Price) -> None:
    # ratio product 0: no minimum charge
    assert quota_for(Usage(prompt_tokens=1000, completion_tokens=1000), price, QPU) == 0


def test_empty_usage_costs_0_in_ratio_mode() -> None:
    assert quota_for(Usage(), GPT_4O, QPU) == 0
    assert quota_for(from_openai({}), SONNET, QPU) == 0


def test_completion_only_usage_is_charged() -> None:
    # 0 + 10 x 4 = 40; x 1.25 = 50
    assert quota_for(Usage(completion_tokens=10), GPT_4O, QPU) == 50


# ---- rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_ratio", "prompt", "expected"),
    [
        (0.5, 5, 3),  # 5 x 0.5 = 2.5 -> 3 (banker's rounding would give 2)
        (0.5, 9, 5),  # 9 x 0.5 = 4.5 -> 5 (banker's: 4)
        (0.075, 60, 5),  # 60 x 0.075 = 4.5 -> 5 (banker's: 4)
        (0.35, 90, 32),  # 90 x 0.35 = 31.5 exactly in decimal -> 32 (binary floats: 31.4999...)
        (0.7, 45, 32),  # 45 x 0.7 = 31.5 -> 32 (binary floats: 31.499999999999996)
        (0.3, 7, 2),  # 7 x 0.3 = 2.1 -> 2
        (0.3, 8, 2),  # 8 x 0.3 = 2.4 -> 2
        (0.3, 9, 3),  # 9 x 0.3 = 2.7 -> 3
    ],
)
def test_rounding_is_decimal_half_away_from_zero(
    model_ratio: float, prompt: int, expected: int
) -> None:
    assert quota_for(Usage(prompt_tokens=prompt), Price(model_ratio=model_ratio), QPU) == expected


def test_rounding_of_the_full_formula() -> None:
    price = Price(model_ratio=0.075, completion_ratio=4, group_ratio=2.5)
    usage = Usage(prompt_tokens=11, completion_tokens=2)
    # (11 + 2 x 4) x 0.075 x 2.5 = 19 x 0.1875 = 3.5625 -> 4
    assert quota_for(usage, price, QPU) == 4


# ---- price mode ---------------------------------------------------------------------------------


def test_per_call_model_price() -> None:
    price = price_for(options(), "dall-e-3", "default", "default")
    # 0.04 x 500000 x 1 = 20000, whatever the usage
    assert quota_for(Usage(prompt_tokens=1234, completion_tokens=99), price, QPU) == 20000
    assert quota_for(Usage(), price, QPU) == 20000


def test_per_call_model_price_with_group_ratio() -> None:
    price = Price(model_price=0.04, group_ratio=0.5)
    # 0.04 x 500000 x 0.5 = 10000
    assert quota_for(Usage(prompt_tokens=1), price, QPU) == 10000


def test_per_call_price_rounds_half_away_from_zero() -> None:
    price = Price(model_price=0.000001)
    # 0.000001 x 500000 = 0.5 -> 1
    assert quota_for(Usage(), price, QPU) == 1


# ---- audio path ---------------------------------------------------------------------------------


AUDIO_USAGE = from_openai(
    {
        "prompt_tokens": 1100,
        "completion_tokens": 600,
        "prompt_tokens_details": {"audio_tokens": 100},
        "completion_tokens_details": {"audio_tokens": 500},
    }
)


def test_audio_path() -> None:
    assert uses_audio_price(AUDIO_USAGE, GPT_4O_AUDIO)
    # text in 1100 - 100 = 1000; text out (600 - 500) x 4 = 400
    # audio in 100 x 16 = 1600; audio out 500 x 16 x 2 = 16000
    # (1000 + 400 + 1600 + 16000) x 1.25 = 19000 x 1.25 = 23750
    assert quota_for(AUDIO_USAGE, GPT_4O_AUDIO, QPU) == 23750


def test_audio_tokens_without_an_audio_ratio_use_the_text_formula() -> None:
    assert not uses_audio_price(AUDIO_USAGE, GPT_4O)
    # (1100 + 600 x 4) x 1.25 = 3500 x 1.25 = 4375
    assert quota_for(AUDIO_USAGE, GPT_4O, QPU) == 4375


def test_audio_ratio_without_audio_tokens_uses_the_text_formula() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    assert not uses_audio_price(usage, GPT_4O_AUDIO)
    # (1000 + 500 x 4) x 1.25 = 3750
    assert quota_for(usage, GPT_4O_AUDIO, QPU) == 3750


def test_audio_path_minimum_1() -> None:
    price = Price(model_ratio=0.0001, audio_ratio=1)
    # 1 x 1 x 0.0001 = 0.0001 -> 0 -> minimum 1
    assert quota_for(Usage(prompt_tokens=1, audio_prompt_tokens=1), price, QPU) == 1


# ---- reservation --------------------------------------------------------------------------------


def test_reserve_ratio_mode_with_max_tokens() -> None:
    # (1000 + 500 x 4) x 1.25 = 3750: the reservation includes the completion ratio
    assert reserve_for(1000, 500, GPT_4O, QPU, 4096) == 3750


def test_reserve_ratio_mode_without_max_tokens_uses_the_default_completion() -> None:
    # (1000 + 4096 x 4) x 1.25 = 17384 x 1.25 = 21730
    assert reserve_for(1000, None, GPT_4O, QPU, 4096) == 21730
    assert reserve_for(1000, 0, GPT_4O, QPU, 4096) == 21730


def test_reserve_rounds_up() -> None:
    price = Price(model_ratio=0.075, completion_ratio=4)
    # (10 + 1 x 4) x 0.075 = 1.05 -> 2 (ceiling)
    assert reserve_for(10, 1, price, QPU, 4096) == 2


def test_reserve_with_group_ratio() -> None:
    price = Price(model_ratio=1.25, completion_ratio=4, group_ratio=0.5)
    # (1000 + 500 x 4) x 1.25 x 0.5 = 1875
    assert reserve_for(1000, 500, price, QPU, 4096) == 1875


def test_reserve_ignores_a_negative_prompt_estimate() -> None:
    # (0 + 500 x 4) x 1.25 = 2500
    assert reserve_for(-50, 500, GPT_4O, QPU, 4096) == 2500


def test_reserve_price_mode_is_the_exact_per_call_cost() -> None:
    price = Price(model_price=0.04, group_ratio=0.5)
    # 0.04 x 500000 x 0.5 = 10000, whatever the tokens
    assert reserve_for(1000, 500, price, QPU, 4096) == 10000


def test_reserve_covers_the_final_charge_for_uncached_calls() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    assert reserve_for(1000, 500, GPT_4O, QPU, 4096) >= quota_for(usage, GPT_4O, QPU)


# ---- the consume log ------------------------------------------------------------------------


def test_describe_ratio_mode() -> None:
    assert describe(GPT_4O) == "model ratio 1.25, completion ratio 4, group ratio 1"


def test_describe_price_mode() -> None:
    assert describe(Price(model_price=0.04, group_ratio=0.5)) == "model price 0.04, group ratio 0.5"


def test_describe_user_group_ratio_and_long_ratios() -> None:
    price = Price(
        model_ratio=0.15, completion_ratio=2.5 / 0.3, group_ratio=0.8, user_group_ratio=0.8
    )
    assert describe(price) == "model ratio 0.15, completion ratio 8.333333, user group ratio 0.8"


def test_log_other_openai() -> None:
    usage = Usage(prompt_tokens=2000, completion_tokens=300, cache_read_tokens=1536)
    assert log_other(GPT_4O, usage) == {
        "model_ratio": 1.25,
        "group_ratio": 1,
        "completion_ratio": 4,
        "cache_tokens": 1536,
        "cache_ratio": 0.5,
        "model_price": -1,
        "user_group_ratio": -1,
    }


def test_log_other_claude_cache_writes() -> None:
    usage = from_claude(
        {
            "input_tokens": 120,
            "cache_read_input_tokens": 10_000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 2000,
                "ephemeral_1h_input_tokens": 1000,
            },
            "output_tokens": 800,
        }
    )
    assert log_other(SONNET, usage) == {
        "model_ratio": 1.5,
        "group_ratio": 1,
        "completion_ratio": 5,
        "cache_tokens": 10_000,
        "cache_ratio": 0.1,
        "model_price": -1,
        "user_group_ratio": -1,
        "cache_creation_tokens": 3000,
        "cache_creation_ratio": 1.25,
        "cache_creation_tokens_5m": 2000,
        "cache_creation_ratio_5m": 1.25,
        "cache_creation_tokens_1h": 1000,
        "cache_creation_ratio_1h": 2.0,
    }


def test_log_other_price_mode_and_user_group_ratio() -> None:
    price = price_for(
        options(GroupGroupRatio={"svip": {"default": 0.7}}), "dall-e-3", "default", "svip"
    )
    other = log_other(price, Usage())
    assert other["model_price"] == 0.04
    assert other["model_ratio"] == 0
    assert other["group_ratio"] == 0.7
    assert other["user_group_ratio"] == 0.7


def test_log_other_audio_path() -> None:
    other = log_other(GPT_4O_AUDIO, AUDIO_USAGE)
    assert other["audio"] is True
    assert (other["audio_input"], other["audio_output"]) == (100, 500)
    assert (other["text_input"], other["text_output"]) == (1000, 100)
    assert (other["audio_ratio"], other["audio_completion_ratio"]) == (16, 2)
    assert "audio" not in log_other(GPT_4O, AUDIO_USAGE)
