"""Gemini wire helpers: model suffixes, schema cleaning, finish reasons."""

from __future__ import annotations

from typing import Any

import pytest

from newapi.protocol.gemini import (
    clean_schema,
    finish_reason_from_gemini,
    finish_reason_to_gemini,
    thinking_suffix,
)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", ("gemini-2.5-flash", None)),
        (
            "gemini-2.5-flash-thinking",
            ("gemini-2.5-flash", {"thinkingBudget": -1, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-pro-thinking-2048",
            ("gemini-2.5-pro", {"thinkingBudget": 2048, "includeThoughts": True}),
        ),
        ("gemini-2.5-flash-nothinking", ("gemini-2.5-flash", {"thinkingBudget": 0})),
        ("gemini-2.5-flash-thinking-abc", ("gemini-2.5-flash-thinking-abc", None)),
        ("-thinking", ("-thinking", None)),
    ],
)
def test_thinking_suffix(model: str, expected: Any) -> None:
    assert thinking_suffix(model) == expected


def test_clean_schema_drops_refused_keywords_but_not_property_names() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "strict": {"type": "boolean"},
            "additionalProperties": {"type": ["integer", "null"]},
            "mode": {"const": "fast"},
            "tags": {"type": "array", "items": {"type": "string", "additionalProperties": True}},
            "any": {"anyOf": [{"type": "string", "$comment": "x"}, {"type": "number"}]},
        },
        "required": ["strict"],
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "strict": {"type": "boolean"},
            "additionalProperties": {"type": "integer", "nullable": True},
            "mode": {"enum": ["fast"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "any": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        },
        "required": ["strict"],
    }


def test_finish_reason_maps() -> None:
    assert finish_reason_from_gemini("STOP") == "stop"
    assert finish_reason_from_gemini("STOP", has_tool_calls=True) == "tool_calls"
    assert finish_reason_from_gemini("MAX_TOKENS", has_tool_calls=True) == "length"
    assert finish_reason_from_gemini("IMAGE_SAFETY") == "content_filter"
    assert finish_reason_from_gemini(None) == "stop"
    assert finish_reason_to_gemini("length") == "MAX_TOKENS"
    assert finish_reason_to_gemini("content_filter") == "SAFETY"
    assert finish_reason_to_gemini("tool_calls") == "STOP"
