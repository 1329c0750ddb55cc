"""The one usage record: parsing OpenAI and Claude usage, writing it back, and the edge cases."""

from __future__ import annotations

from typing import Any

import anthropic.types
import openai.types
import pytest

from newapi.protocol.usage import (
    Usage,
    from_claude,
    from_gemini,
    from_openai,
    to_claude,
    to_gemini,
    to_openai,
    to_responses,
)

# ---- from_openai --------------------------------------------------------------------------------


def test_from_openai_chat_usage() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 10},
            "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 20},
        }
    )
    assert usage == Usage(
        prompt_tokens=2000,
        completion_tokens=300,
        cache_read_tokens=1536,
        reasoning_tokens=200,
        audio_prompt_tokens=10,
        audio_completion_tokens=20,
    )
    assert (usage.total_tokens, usage.uncached_prompt_tokens) == (2300, 464)


def test_from_openai_responses_names() -> None:
    usage = from_openai(
        {
            "input_tokens": 50,
            "output_tokens": 70,
            "input_tokens_details": {"cached_tokens": 20},
            "output_tokens_details": {"reasoning_tokens": 30},
        }
    )
    assert usage == Usage(
        prompt_tokens=50, completion_tokens=70, cache_read_tokens=20, reasoning_tokens=30
    )


def test_from_openai_cache_write_tokens() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 300},
        }
    )
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (600, 300)
    assert usage.uncached_prompt_tokens == 100


def test_from_openai_clamps_cached_and_written_tokens_to_the_prompt() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 10,
            "completion_tokens": 4,
            "prompt_tokens_details": {
                "cached_tokens": 5000,
                "cache_write_tokens": 70,
                "audio_tokens": 99,
            },
            "completion_tokens_details": {"reasoning_tokens": 9, "audio_tokens": 9},
        }
    )
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (10, 0)
    assert (usage.audio_prompt_tokens, usage.reasoning_tokens) == (10, 4)
    assert usage.audio_completion_tokens == 4
    assert usage.uncached_prompt_tokens == 0


@pytest.mark.parametrize(
    "raw",
    [None, [], "usage", 3, {}, {"prompt_tokens": None}, {"total_tokens": 5}],
)
def test_from_openai_missing_usage_is_empty(raw: Any) -> None:
    usage = from_openai(raw)
    assert usage == Usage()
    assert usage.is_empty


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, 0), (False, 0), (-5, 0), ("12", 0), (None, 0), (12.9, 12), (7, 7), ([1], 0)],
)
def test_from_openai_counts_only_non_negative_numbers(value: Any, expected: int) -> None:
    usage = from_openai({"prompt_tokens": value, "completion_tokens": value})
    assert (usage.prompt_tokens, usage.completion_tokens) == (expected, expected)


def test_from_openai_null_prompt_tokens_falls_back_to_input_tokens() -> None:
    usage = from_openai({"prompt_tokens": None, "input_tokens": 8, "output_tokens": 2})
    assert (usage.prompt_tokens, usage.completion_tokens) == (8, 2)


def test_from_openai_ignores_malformed_details() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "prompt_tokens_details": "cached",
            "completion_tokens_details": [1, 2],
        }
    )
    assert usage == Usage(prompt_tokens=10, completion_tokens=5)


def test_from_openai_boolean_cached_tokens_count_nothing() -> None:
    usage = from_openai({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": True}})
    assert usage.cache_read_tokens == 0


# ---- from_claude --------------------------------------------------------------------------------


def test_from_claude_adds_cache_tokens_into_the_prompt() -> None:
    usage = from_claude(
        {
            "input_tokens": 120,
            "output_tokens": 800,
            "cache_read_input_tokens": 10_000,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 2000,
                "ephemeral_1h_input_tokens": 1000,
            },
        }
    )
    assert usage == Usage(
        prompt_tokens=13_120,
        completion_tokens=800,
        cache_read_tokens=10_000,
        cache_write_tokens=2000,
        cache_write_1h_tokens=1000,
    )
    assert usage.uncached_prompt_tokens == 120


def test_from_claude_without_the_ttl_breakdown_bills_5_minute_writes() -> None:
    usage = from_claude({"input_tokens": 5, "output_tokens": 1, "cache_creation_input_tokens": 40})
    assert (usage.prompt_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        45,
        40,
        0,
    )


def test_from_claude_breakdown_of_zeros_keeps_the_reported_writes() -> None:
    # Some proxies send the breakdown object filled with zeros beside a real total.
    usage = from_claude(
        {
            "input_tokens": 5,
            "output_tokens": 1,
            "cache_creation_input_tokens": 40,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        }
    )
    assert (usage.prompt_tokens, usage.cache_write_tokens) == (45, 40)


def test_from_claude_partial_breakdown_puts_the_rest_in_5_minute_writes() -> None:
    usage = from_claude(
        {
            "input_tokens": 0,
            "cache_creation_input_tokens": 100,
            "cache_creation": {"ephemeral_1h_input_tokens": 30},
        }
    )
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens, usage.prompt_tokens) == (
        70,
        30,
        100,
    )


def test_from_claude_message_start_usage_with_nulls() -> None:
    usage = from_claude(
        {
            "input_tokens": 25,
            "output_tokens": 1,
            "cache_read_input_tokens": None,
            "cache_creation_input_tokens": None,
            "cache_creation": None,
        }
    )
    assert usage == Usage(prompt_tokens=25, completion_tokens=1)


@pytest.mark.parametrize("raw", [None, "x", [], {}])
def test_from_claude_missing_usage_is_empty(raw: Any) -> None:
    assert from_claude(raw) == Usage()


def test_from_claude_negative_and_boolean_counts_are_zero() -> None:
    usage = from_claude({"input_tokens": -10, "output_tokens": True, "cache_read_input_tokens": -3})
    assert usage == Usage()


# ---- to_openai / to_claude ----------------------------------------------------------------------


def test_to_openai_plain() -> None:
    assert to_openai(Usage(prompt_tokens=10, completion_tokens=5)) == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
    }


def test_to_openai_details() -> None:
    usage = Usage(
        prompt_tokens=100,
        completion_tokens=50,
        cache_read_tokens=40,
        cache_write_tokens=20,
        cache_write_1h_tokens=5,
        reasoning_tokens=30,
        audio_prompt_tokens=3,
        audio_completion_tokens=4,
    )
    assert to_openai(usage) == {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 3, "cache_write_tokens": 25},
        "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 4},
    }


def test_to_claude_takes_cache_tokens_out_of_input_tokens() -> None:
    usage = Usage(
        prompt_tokens=13_120,
        completion_tokens=800,
        cache_read_tokens=10_000,
        cache_write_tokens=2000,
        cache_write_1h_tokens=1000,
    )
    assert to_claude(usage) == {
        "input_tokens": 120,
        "output_tokens": 800,
        "cache_read_input_tokens": 10_000,
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 1000},
    }


def test_to_claude_never_reports_negative_input_tokens() -> None:
    # A hand-built record with more cache tokens than prompt tokens.
    usage = Usage(prompt_tokens=5, cache_read_tokens=10)
    assert to_claude(usage)["input_tokens"] == 0


def test_written_usage_parses_with_the_official_sdks() -> None:
    usage = Usage(
        prompt_tokens=100,
        completion_tokens=50,
        cache_read_tokens=40,
        cache_write_tokens=20,
        cache_write_1h_tokens=5,
        reasoning_tokens=30,
    )
    openai_usage = openai.types.CompletionUsage.model_validate(to_openai(usage))
    assert openai_usage.prompt_tokens_details is not None
    assert openai_usage.prompt_tokens_details.cached_tokens == 40
    assert openai_usage.prompt_tokens_details.cache_write_tokens == 25
    claude_usage = anthropic.types.Usage.model_validate(to_claude(usage))
    assert claude_usage.input_tokens == 35
    assert claude_usage.cache_creation is not None
    assert claude_usage.cache_creation.ephemeral_1h_input_tokens == 5


# ---- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage",
    [
        Usage(),
        Usage(prompt_tokens=10, completion_tokens=5),
        Usage(prompt_tokens=2000, completion_tokens=300, cache_read_tokens=1536),
        Usage(prompt_tokens=100, completion_tokens=80, reasoning_tokens=60),
        Usage(
            prompt_tokens=1100,
            completion_tokens=600,
            audio_prompt_tokens=100,
            audio_completion_tokens=500,
        ),
        Usage(
            prompt_tokens=1000, completion_tokens=5, cache_read_tokens=600, cache_write_tokens=300
        ),
    ],
)
def test_openai_round_trip(usage: Usage) -> None:
    assert from_openai(to_openai(usage)) == usage


@pytest.mark.parametrize(
    "usage",
    [
        Usage(),
        Usage(prompt_tokens=10, completion_tokens=5),
        Usage(
            prompt_tokens=13_120,
            completion_tokens=800,
            cache_read_tokens=10_000,
            cache_write_tokens=2000,
            cache_write_1h_tokens=1000,
        ),
        Usage(prompt_tokens=50_003, completion_tokens=500, cache_read_tokens=50_000),
    ],
)
def test_claude_round_trip(usage: Usage) -> None:
    assert from_claude(to_claude(usage)) == usage


def test_claude_wire_round_trip() -> None:
    raw = {
        "input_tokens": 3,
        "output_tokens": 500,
        "cache_read_input_tokens": 50_000,
        "cache_creation_input_tokens": 2500,
        "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 500},
    }
    assert to_claude(from_claude(raw)) == raw


def test_claude_usage_through_openai_format_keeps_the_bill() -> None:
    # Claude upstream, OpenAI-format caller: reads and writes survive the conversion.
    claude = from_claude(
        {
            "input_tokens": 3,
            "output_tokens": 500,
            "cache_read_input_tokens": 50_000,
            "cache_creation_input_tokens": 2000,
        }
    )
    again = from_openai(to_openai(claude))
    assert again == claude
    assert again.uncached_prompt_tokens == 3


# ---- the record -------------------------------------------------------------------------------


def test_with_estimate_marks_local_counts() -> None:
    usage = Usage(cache_read_tokens=5).with_estimate(100, 20)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (100, 20, True)
    assert usage.cache_read_tokens == 5


def test_uncached_prompt_never_negative() -> None:
    usage = Usage(
        prompt_tokens=5, cache_read_tokens=3, cache_write_tokens=3, cache_write_1h_tokens=3
    )
    assert usage.uncached_prompt_tokens == 0


# ---- Gemini ----------------------------------------------------------------------------------


def test_from_gemini_adds_tool_use_prompt_and_thoughts() -> None:
    usage = from_gemini(
        {
            "promptTokenCount": 1000,
            "toolUsePromptTokenCount": 50,
            "candidatesTokenCount": 200,
            "thoughtsTokenCount": 300,
            "cachedContentTokenCount": 600,
            "totalTokenCount": 1550,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 900},
                {"modality": "AUDIO", "tokenCount": 100},
            ],
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 40}],
        }
    )
    assert usage == Usage(
        prompt_tokens=1050,
        completion_tokens=500,
        cache_read_tokens=600,
        reasoning_tokens=300,
        audio_prompt_tokens=100,
        audio_completion_tokens=40,
    )
    assert usage.total_tokens == 1550


def test_from_gemini_clamps_cached_into_prompt_and_tolerates_junk() -> None:
    assert (
        from_gemini({"promptTokenCount": 10, "cachedContentTokenCount": 99}).cache_read_tokens == 10
    )
    assert from_gemini(None) == Usage()
    assert from_gemini({"promptTokenCount": "7", "candidatesTokenCount": -3}) == Usage()


def test_to_gemini_and_back() -> None:
    usage = Usage(
        prompt_tokens=1200,
        completion_tokens=300,
        cache_read_tokens=1000,
        reasoning_tokens=120,
        audio_prompt_tokens=200,
    )
    metadata = to_gemini(usage)
    assert metadata == {
        "promptTokenCount": 1200,
        "candidatesTokenCount": 180,
        "totalTokenCount": 1500,
        "thoughtsTokenCount": 120,
        "cachedContentTokenCount": 1000,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 1000},
            {"modality": "AUDIO", "tokenCount": 200},
        ],
    }
    assert from_gemini(metadata) == usage
    assert to_gemini(Usage()) == {
        "promptTokenCount": 0,
        "candidatesTokenCount": 0,
        "totalTokenCount": 0,
    }


def test_to_responses_reads_back_through_from_openai() -> None:
    usage = Usage(1000, 200, cache_read_tokens=600, cache_write_tokens=100, reasoning_tokens=50)
    body = to_responses(usage)
    assert body == {
        "input_tokens": 1000,
        "input_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 100},
        "output_tokens": 200,
        "output_tokens_details": {"reasoning_tokens": 50},
        "total_tokens": 1200,
    }
    assert from_openai(body) == usage
