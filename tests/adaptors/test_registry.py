"""The registry's ``served`` predicate: which channel types this version of newapi can serve."""

from __future__ import annotations

import pytest

from newapi.adaptors.registry import ADAPTORS, adaptor_for, not_served_reason, served
from newapi.routing import channel_types as t


@pytest.mark.parametrize(
    "channel_type",
    [t.OPENAI, t.AZURE, t.ANTHROPIC, t.CUSTOM, t.GEMINI, t.VERTEX_AI, t.DEEPSEEK, t.OLLAMA],
)
def test_types_with_an_adaptor_are_served(channel_type: int) -> None:
    assert served(channel_type)
    assert adaptor_for(channel_type, "some-model") is not None


@pytest.mark.parametrize("channel_type", [t.MIDJOURNEY, t.AWS, t.COHERE, t.DIFY, t.ALI, 0, 999])
def test_types_without_an_adaptor_are_not_served(channel_type: int) -> None:
    assert not served(channel_type)
    assert adaptor_for(channel_type, "some-model") is None


def test_served_agrees_with_adaptor_for_on_every_known_type() -> None:
    for type_id in t.CHANNEL_TYPES:
        assert served(type_id) == (adaptor_for(type_id, "m") is not None), type_id
    assert {i for i in t.CHANNEL_TYPES if served(i)} == set(ADAPTORS)


def test_not_served_reason_names_the_type() -> None:
    reason = not_served_reason(t.AWS)
    assert "33" in reason and "AWS" in reason
    assert "not served by this version of newapi" in reason
