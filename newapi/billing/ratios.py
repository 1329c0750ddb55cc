"""Built-in price ratios (new-api's units).

A model ratio of 1 is $0.002 per 1K prompt tokens ($2 per 1M); the completion ratio multiplies
it for output tokens; ``ModelPrice`` is USD per call. Admins override every map through the
options of the same names. Token prices of current models come from the packaged price table
(:mod:`newapi.billing.price_table`), not from here.
"""

from __future__ import annotations

QUOTA_PER_UNIT = 500_000  # quota per 1 USD

# Only what the packaged price table (newapi/billing/price_table.py) does not price: every
# model it covers is priced from it, so these maps are not a second, hand-typed copy of the
# providers' price lists that goes stale (tests/billing/test_price_table.py checks that no entry
# here is one the table prices). USD per 1M input tokens / 2 = ratio.
DEFAULT_MODEL_RATIO: dict[str, float] = {
    "text-embedding-004": 0.001,
    # Audio. Speech bills the input's characters as tokens (tts-1: $15 per 1M characters);
    # whisper bills 1000 tokens a minute of audio ($0.006 a minute = $6 per 1M). The table
    # prices these by character and by the hour, which new-api's ratios cannot carry.
    "tts-1": 7.5,
    "tts-1-1106": 7.5,
    "tts-1-hd": 15.0,
    "tts-1-hd-1106": 15.0,
    "whisper-1": 3.0,
}

DEFAULT_COMPLETION_RATIO: dict[str, float] = {
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

DEFAULT_CACHE_RATIO: dict[str, float] = {}

DEFAULT_CREATE_CACHE_RATIO: dict[str, float] = {}

DEFAULT_MODEL_PRICE: dict[str, float] = {
    "dall-e-2": 0.02,
    "dall-e-3": 0.04,
    "gpt-image-1": 0.04,
}

DEFAULT_GROUP_RATIO: dict[str, float] = {"default": 1, "vip": 1, "svip": 1}
