"""The one usage record every provider's usage is parsed into, and billing reads.

Semantics are normalised to OpenAI's: ``prompt_tokens`` counts *all* input tokens, cached reads
and cache writes included; ``completion_tokens`` counts all output tokens, reasoning included.
Claude reports cache reads and writes *beside* ``input_tokens``; :func:`from_claude` adds them
in, so billing never subtracts cache tokens from a prompt that did not contain them (new-api
#5003: negative prompt tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(int(value), 0)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0  # inside prompt_tokens
    cache_write_tokens: int = 0  # inside prompt_tokens (Claude 5-minute writes)
    cache_write_1h_tokens: int = 0  # inside prompt_tokens (Claude 1-hour writes)
    reasoning_tokens: int = 0  # inside completion_tokens
    audio_prompt_tokens: int = 0  # inside prompt_tokens
    audio_completion_tokens: int = 0  # inside completion_tokens
    estimated: bool = False  # counted locally: upstream reported nothing

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def is_empty(self) -> bool:
        return self.total_tokens == 0

    @property
    def uncached_prompt_tokens(self) -> int:
        """Input tokens billed at the full model ratio (never negative)."""
        special = self.cache_read_tokens + self.cache_write_tokens + self.cache_write_1h_tokens
        return max(self.prompt_tokens - special, 0)

    def with_estimate(self, prompt_tokens: int, completion_tokens: int) -> Usage:
        return replace(
            self, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, estimated=True
        )


def from_openai(usage: Any) -> Usage:
    """Chat/completions/embeddings ``usage`` (also Responses' input/output names).

    Cached reads and cache writes (``prompt_tokens_details.cache_write_tokens``, sent by
    OpenAI-compatible routers in front of Claude) are clamped into ``prompt_tokens``: a provider
    reporting more cached tokens than prompt tokens cannot make the uncached rest negative.
    """
    if not isinstance(usage, dict):
        return Usage()
    prompt = _int(_first(usage, "prompt_tokens", "input_tokens"))
    completion = _int(_first(usage, "completion_tokens", "output_tokens"))
    prompt_details = _details(usage, "prompt_tokens_details", "input_tokens_details")
    completion_details = _details(usage, "completion_tokens_details", "output_tokens_details")
    cached = min(_int(prompt_details.get("cached_tokens")), prompt)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cache_read_tokens=cached,
        cache_write_tokens=min(_int(prompt_details.get("cache_write_tokens")), prompt - cached),
        reasoning_tokens=min(_int(completion_details.get("reasoning_tokens")), completion),
        audio_prompt_tokens=min(_int(prompt_details.get("audio_tokens")), prompt),
        audio_completion_tokens=min(_int(completion_details.get("audio_tokens")), completion),
    )


def _first(usage: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` holding a number (``"prompt_tokens": null`` falls through)."""
    for key in keys:
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def _details(usage: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = usage.get(key)
        if isinstance(value, dict):
            return value
    return {}


def from_claude(usage: Any) -> Usage:
    """Anthropic ``usage``: cache reads/writes are reported beside ``input_tokens``.

    The 5-minute/1-hour split comes from ``cache_creation``; when that breakdown adds up to
    less than ``cache_creation_input_tokens`` (some proxies send zeros), the rest is billed as
    5-minute writes rather than dropped.
    """
    if not isinstance(usage, dict):
        return Usage()
    read = _int(usage.get("cache_read_input_tokens"))
    written = _int(usage.get("cache_creation_input_tokens"))
    creation = usage.get("cache_creation")
    if isinstance(creation, dict):
        write_5m = _int(creation.get("ephemeral_5m_input_tokens"))
        write_1h = _int(creation.get("ephemeral_1h_input_tokens"))
        write_5m = max(write_5m, written - write_1h)
    else:
        write_5m, write_1h = written, 0
    return Usage(
        prompt_tokens=_int(usage.get("input_tokens")) + read + write_5m + write_1h,
        completion_tokens=_int(usage.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def to_openai(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    if usage.cache_read_tokens or usage.audio_prompt_tokens or writes:
        body["prompt_tokens_details"] = {
            "cached_tokens": usage.cache_read_tokens,
            "audio_tokens": usage.audio_prompt_tokens,
        }
        if writes:
            body["prompt_tokens_details"]["cache_write_tokens"] = writes
    if usage.reasoning_tokens or usage.audio_completion_tokens:
        body["completion_tokens_details"] = {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": usage.audio_completion_tokens,
        }
    return body


def to_responses(usage: Usage) -> dict[str, Any]:
    """Responses API ``usage`` (read back by :func:`from_openai`); reads and writes are both
    inside ``input_tokens``, as in :class:`Usage`."""
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": writes,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def to_claude(usage: Usage) -> dict[str, Any]:
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    return {
        "input_tokens": max(usage.prompt_tokens - usage.cache_read_tokens - writes, 0),
        "output_tokens": usage.completion_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation_input_tokens": writes,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        },
    }


def from_gemini(metadata: Any) -> Usage:
    """Gemini ``usageMetadata``: thoughts and tool-use prompts are reported beside the counts.

    prompt = promptTokenCount + toolUsePromptTokenCount; completion = candidatesTokenCount +
    thoughtsTokenCount (new-api); cached content is already inside promptTokenCount. Audio
    counts come from the ``*TokensDetails`` modality lists.
    """
    if not isinstance(metadata, dict):
        return Usage()
    prompt = _int(metadata.get("promptTokenCount")) + _int(metadata.get("toolUsePromptTokenCount"))
    thoughts = _int(metadata.get("thoughtsTokenCount"))
    completion = _int(metadata.get("candidatesTokenCount")) + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cache_read_tokens=min(_int(metadata.get("cachedContentTokenCount")), prompt),
        reasoning_tokens=thoughts,
        audio_prompt_tokens=min(_modality(metadata.get("promptTokensDetails"), "AUDIO"), prompt),
        audio_completion_tokens=min(
            _modality(metadata.get("candidatesTokensDetails"), "AUDIO"), completion
        ),
    )


def _modality(details: Any, modality: str) -> int:
    if not isinstance(details, list):
        return 0
    return sum(
        _int(item.get("tokenCount"))
        for item in details
        if isinstance(item, dict) and item.get("modality") == modality
    )


def to_gemini(usage: Usage) -> dict[str, Any]:
    """``usageMetadata`` for a Gemini caller; cache writes have no Gemini field (they stay
    inside promptTokenCount)."""
    metadata: dict[str, Any] = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": max(usage.completion_tokens - usage.reasoning_tokens, 0),
        "totalTokenCount": usage.total_tokens,
    }
    if usage.reasoning_tokens:
        metadata["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cache_read_tokens:
        metadata["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.audio_prompt_tokens:
        metadata["promptTokensDetails"] = _details_of(
            usage.prompt_tokens, usage.audio_prompt_tokens
        )
    if usage.audio_completion_tokens:
        metadata["candidatesTokensDetails"] = _details_of(
            metadata["candidatesTokenCount"], usage.audio_completion_tokens
        )
    return metadata


def _details_of(total: int, audio: int) -> list[dict[str, Any]]:
    details = [{"modality": "AUDIO", "tokenCount": audio}]
    if total > audio:
        details.insert(0, {"modality": "TEXT", "tokenCount": total - audio})
    return details
