"""Built-in price ratios (new-api's units).

A model ratio of 1 is $0.002 per 1K prompt tokens ($2 per 1M); the completion ratio multiplies
it for output tokens; ``ModelPrice`` is USD per call. Admins override every map through the
options of the same names.
"""

from __future__ import annotations

QUOTA_PER_UNIT = 500_000  # quota per 1 USD

# USD per 1M input tokens / 2 = ratio.
DEFAULT_MODEL_RATIO: dict[str, float] = {
    "gpt-4o": 1.25,
    "gpt-4o-2024-11-20": 1.25,
    "gpt-4o-mini": 0.075,
    "gpt-4.1": 1.0,
    "gpt-4.1-mini": 0.2,
    "gpt-4.1-nano": 0.05,
    "gpt-5": 0.625,
    "gpt-5-mini": 0.125,
    "gpt-5-nano": 0.025,
    "o1": 7.5,
    "o3": 1.0,
    "o3-mini": 0.55,
    "o4-mini": 0.55,
    "gpt-3.5-turbo": 0.25,
    "gpt-4-turbo": 5.0,
    "text-embedding-3-small": 0.01,
    "text-embedding-3-large": 0.065,
    "text-embedding-ada-002": 0.05,
    "gpt-realtime": 2.0,
    "gpt-4o-realtime-preview": 2.5,
    "gpt-4o-mini-realtime-preview": 0.3,
    "claude-3-5-haiku-20241022": 0.4,
    "claude-3-5-sonnet-20241022": 1.5,
    "claude-3-7-sonnet-20250219": 1.5,
    "claude-sonnet-4-20250514": 1.5,
    "claude-sonnet-4-5-20250929": 1.5,
    "claude-opus-4-20250514": 7.5,
    "claude-opus-4-1-20250805": 7.5,
    "claude-haiku-4-5-20251001": 0.5,
    "deepseek-chat": 0.135,
    "deepseek-reasoner": 0.275,
    "gemini-2.5-pro": 0.625,
    "gemini-2.5-flash": 0.15,
    "gemini-2.5-flash-lite": 0.05,
    "gemini-2.0-flash": 0.05,
    "gemini-3-pro-preview": 1,  # $2 / 1M input tokens (up to 200K)
    "gemini-3-flash-preview": 0.25,  # $0.50 / 1M
    "gemini-embedding-001": 0.075,
    "text-embedding-004": 0.001,
    # Audio. Speech bills the input's characters as tokens (tts-1: $15 per 1M characters);
    # whisper bills 1000 tokens a minute of audio ($0.006 a minute = $6 per 1M); the gpt-4o
    # transcribe models bill reported tokens at their audio-input price.
    "tts-1": 7.5,
    "tts-1-1106": 7.5,
    "tts-1-hd": 15.0,
    "tts-1-hd-1106": 15.0,
    "whisper-1": 3.0,
    "gpt-4o-transcribe": 1.25,  # text input $2.50 per 1M; audio input via DEFAULT_AUDIO_RATIO
    "gpt-4o-mini-transcribe": 0.625,
}

DEFAULT_COMPLETION_RATIO: dict[str, float] = {
    "gpt-4o": 4,
    "gpt-4o-2024-11-20": 4,
    "gpt-4o-mini": 4,
    "gpt-4.1": 4,
    "gpt-4.1-mini": 4,
    "gpt-4.1-nano": 4,
    "gpt-5": 8,
    "gpt-5-mini": 8,
    "gpt-5-nano": 8,
    "o1": 4,
    "o3": 4,
    "o3-mini": 4,
    "o4-mini": 4,
    "gpt-3.5-turbo": 3,
    "gpt-4-turbo": 3,
    "gpt-realtime": 4,
    "gpt-4o-realtime-preview": 4,
    "gpt-4o-mini-realtime-preview": 4,
    "claude-3-5-haiku-20241022": 5,
    "claude-3-5-sonnet-20241022": 5,
    "claude-3-7-sonnet-20250219": 5,
    "claude-sonnet-4-20250514": 5,
    "claude-sonnet-4-5-20250929": 5,
    "claude-opus-4-20250514": 5,
    "claude-opus-4-1-20250805": 5,
    "claude-haiku-4-5-20251001": 5,
    "deepseek-chat": 4,
    "deepseek-reasoner": 4,
    "gemini-2.5-pro": 8,
    "gemini-2.5-flash": 8.333,
    "tts-1": 1,
    "tts-1-1106": 1,
    "tts-1-hd": 1,
    "tts-1-hd-1106": 1,
    "whisper-1": 1,
}

# Audio tokens cost this many times the model's text input (OpenAI's list prices): realtime
# audio in $32/$40/$10 per 1M against text $4/$5/$0.60; transcribe audio in $6/$3 against $2.50/
# $1.25. The audio completion ratio prices audio output against audio input (2 for realtime);
# new-api looks these up by exact name, so its -preview names fall back to 1 and under-bill.
DEFAULT_AUDIO_RATIO: dict[str, float] = {
    "gpt-realtime": 8,
    "gpt-4o-realtime-preview": 8,
    "gpt-4o-mini-realtime-preview": 16.667,
    "gpt-4o-transcribe": 2.4,
    "gpt-4o-mini-transcribe": 2.4,
}

DEFAULT_AUDIO_COMPLETION_RATIO: dict[str, float] = {
    "gpt-realtime": 2,
    "gpt-4o-realtime-preview": 2,
    "gpt-4o-mini-realtime-preview": 2,
}

DEFAULT_CACHE_RATIO: dict[str, float] = {
    "gpt-4o": 0.5,
    "gpt-4o-mini": 0.5,
    "gpt-4.1": 0.25,
    "gpt-4.1-mini": 0.25,
    "gpt-5": 0.1,
    "gpt-5-mini": 0.1,
    "o3": 0.25,
    "o4-mini": 0.25,
    "claude-sonnet-4-20250514": 0.1,
    "claude-sonnet-4-5-20250929": 0.1,
    "claude-opus-4-1-20250805": 0.1,
    "claude-haiku-4-5-20251001": 0.1,
    "deepseek-chat": 0.1,
    # Gemini context caching (implicit and explicit): 10 % of the input price
    "gemini-2.5-pro": 0.1,
    "gemini-2.5-flash": 0.1,
    "gemini-2.5-flash-lite": 0.1,
    "gemini-3-pro-preview": 0.1,
    "gemini-3-flash-preview": 0.1,
}

DEFAULT_CREATE_CACHE_RATIO: dict[str, float] = {
    "claude-sonnet-4-20250514": 1.25,
    "claude-sonnet-4-5-20250929": 1.25,
    "claude-opus-4-1-20250805": 1.25,
    "claude-haiku-4-5-20251001": 1.25,
}

DEFAULT_MODEL_PRICE: dict[str, float] = {
    "dall-e-2": 0.02,
    "dall-e-3": 0.04,
    "gpt-image-1": 0.04,
}

DEFAULT_GROUP_RATIO: dict[str, float] = {"default": 1, "vip": 1, "svip": 1}
