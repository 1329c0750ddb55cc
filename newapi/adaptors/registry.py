"""The one registry: channel type -> adaptor. An OpenAI-compatible provider is one line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from newapi.adaptors.anthropic import Anthropic
from newapi.adaptors.azure import Azure
from newapi.adaptors.base import Adaptor
from newapi.adaptors.openai import OpenAICompatible
from newapi.routing import channel_types as t

ADAPTORS: Mapping[int, Adaptor] = MappingProxyType(
    {
        t.OPENAI: OpenAICompatible("https://api.openai.com"),
        t.AZURE: Azure(),
        t.ANTHROPIC: Anthropic(),
        t.CUSTOM: OpenAICompatible("", stream_usage=False),
        t.OLLAMA: OpenAICompatible("http://localhost:11434"),
        t.OPENROUTER: OpenAICompatible("https://openrouter.ai/api"),
        t.MOONSHOT: OpenAICompatible("https://api.moonshot.cn"),
        t.SILICONFLOW: OpenAICompatible("https://api.siliconflow.cn"),
        t.MISTRAL: OpenAICompatible("https://api.mistral.ai", stream_usage=False),
        t.DEEPSEEK: OpenAICompatible("https://api.deepseek.com"),
        t.XAI: OpenAICompatible("https://api.x.ai"),
        t.PERPLEXITY: OpenAICompatible("https://api.perplexity.ai", stream_usage=False),
    }
)


def adaptor_for(channel_type: int) -> Adaptor | None:
    return ADAPTORS.get(channel_type)
