"""The quota of one realtime response (pure), and its consume-log ``other`` fields.

Ratio mode, with every ratio entering as the decimal it prints as (as :mod:`newapi.billing.quota`)::

    round_half_up((uncached_text_in + cached_text_in x cache_ratio
                   + (uncached_audio_in + cached_audio_in x cache_ratio) x audio_ratio
                   + text_out x completion_ratio
                   + audio_out x audio_ratio x audio_completion_ratio)
                  x model_ratio x group_ratio)

at least 1 for a non-empty usage unless the ratios make it free. Unlike new-api, cached input
is discounted by ``CacheRatio``. Without an ``AudioRatio`` for the model, audio tokens cost
what text tokens cost (audio output then takes the completion ratio). Price mode
(``ModelPrice``) charges the per-call price once per response.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from newapi.billing.prices import Price
from newapi.billing.quota import log_other as base_log_other
from newapi.realtime.events import RealtimeUsage


def _d(value: float) -> Decimal:
    """The decimal a float prints as (shortest round-trip), as Go's NewFromFloat."""
    return Decimal(repr(float(value)))


def audio_ratios(price: Price) -> tuple[Decimal, Decimal]:
    """(audio input multiplier, audio output multiplier) relative to a text input token."""
    if price.audio_ratio is None:
        return Decimal(1), _d(price.completion_ratio)
    audio = _d(price.audio_ratio)
    return audio, audio * _d(price.audio_completion_ratio)


def weighted_tokens(usage: RealtimeUsage, price: Price) -> Decimal:
    cache = _d(price.cache_ratio)
    audio_in, audio_out = audio_ratios(price)
    text_input = Decimal(usage.text_in - usage.cached_text) + Decimal(usage.cached_text) * cache
    audio_input = Decimal(usage.audio_in - usage.cached_audio) + Decimal(usage.cached_audio) * cache
    return (
        text_input
        + audio_input * audio_in
        + Decimal(usage.text_out) * _d(price.completion_ratio)
        + Decimal(usage.audio_out) * audio_out
    )


def response_quota(usage: RealtimeUsage, price: Price, quota_per_unit: float) -> int:
    if price.model_price is not None:
        amount = _d(price.model_price) * _d(quota_per_unit) * _d(price.group_ratio)
        return int(amount.to_integral_value(rounding=ROUND_HALF_UP))
    if usage.is_empty:
        return 0
    ratio = _d(price.model_ratio) * _d(price.group_ratio)
    quota = int((weighted_tokens(usage, price) * ratio).to_integral_value(rounding=ROUND_HALF_UP))
    return 1 if ratio != 0 and quota < 1 else quota


def log_other(price: Price, usage: RealtimeUsage) -> dict[str, Any]:
    """new-api's billing keys plus the realtime split (every count the quota used)."""
    other = base_log_other(price, usage.as_usage())
    audio_in, audio_out = audio_ratios(price)
    other.update(
        realtime=True,
        text_input=usage.text_in,
        audio_input=usage.audio_in,
        cached_text_input=usage.cached_text,
        cached_audio_input=usage.cached_audio,
        text_output=usage.text_out,
        audio_output=usage.audio_out,
        audio_ratio=float(audio_in),
        audio_completion_ratio=float(audio_out / audio_in) if audio_in else 0.0,
    )
    return other
