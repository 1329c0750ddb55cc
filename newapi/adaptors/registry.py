"""The one registry: channel type -> adaptor. An OpenAI-compatible provider is one line here.

A type whose models come from several publishers (Vertex AI: Gemini and Claude) registers a
function of the model name instead of one adaptor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from newapi.adaptors.anthropic import Anthropic
from newapi.adaptors.azure import Azure
from newapi.adaptors.base import Adaptor
from newapi.adaptors.gemini import Gemini
from newapi.adaptors.openai import OpenAICompatible
from newapi.adaptors.vertex import vertex_for
from newapi.routing import channel_types as t

ADAPTORS: Mapping[int, Adaptor | Callable[[str], Adaptor]] = MappingProxyType(
    {
        t.OPENAI: OpenAICompatible("https://api.openai.com", responses="openai"),
        t.AZURE: Azure(),
        t.ANTHROPIC: Anthropic(),
        t.CUSTOM: OpenAICompatible("", stream_usage=False, responses="yes"),
        t.OLLAMA: OpenAICompatible("http://localhost:11434"),
        t.OPENROUTER: OpenAICompatible("https://openrouter.ai/api", responses="yes"),
        t.MOONSHOT: OpenAICompatible("https://api.moonshot.cn"),
        t.SILICONFLOW: OpenAICompatible("https://api.siliconflow.cn"),
        t.MISTRAL: OpenAICompatible("https://api.mistral.ai", stream_usage=False),
        t.DEEPSEEK: OpenAICompatible("https://api.deepseek.com"),
        t.XAI: OpenAICompatible("https://api.x.ai", responses="yes"),
        t.PERPLEXITY: OpenAICompatible("https://api.perplexity.ai", stream_usage=False),
        t.GEMINI: Gemini(),
        t.VERTEX_AI: vertex_for,
    }
)


def adaptor_for(channel_type: int, model: str = "") -> Adaptor | None:
    """The adaptor serving ``model`` on a channel of ``channel_type`` (None: not served)."""
    entry = ADAPTORS.get(channel_type)
    if entry is None or not callable(entry):
        return entry
    return entry(model)


def served(channel_type: int) -> bool:
    """Whether this version of newapi has an adaptor for ``channel_type``.

    A channel of an unserved type (adopted from a new-api database) is never picked, tested or
    auto-disabled: newapi cannot tell a broken upstream from one it does not speak.
    """
    return channel_type in ADAPTORS


def not_served_reason(channel_type: int) -> str:
    """Why a channel of ``channel_type`` is refused or left untested (names the type)."""
    name = t.type_name(channel_type)
    return f"channel type {channel_type} ({name}) is not served by this version of newapi"
