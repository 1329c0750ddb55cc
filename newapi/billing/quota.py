"""Usage x price -> quota (pure): the final charge, the reservation, and the consume-log text.

Arithmetic follows new-api: every ratio enters as the decimal it prints as (Go's
``decimal.NewFromFloat``), products are exact, and the result is rounded half away from zero,
so 0.075 x 2.5 is 0.1875 and never 0.18749999999999997.

Final quota (§3 of the relay reference):

- price mode: ``round(model_price x quota_per_unit x group_ratio)``, whatever the usage;
- ratio mode: ``round((uncached_prompt + cache_read x cache_ratio + cache_write_5m x
  create_cache_ratio + cache_write_1h x create_cache_1h_ratio + completion x completion_ratio)
  x model_ratio x group_ratio)``; empty usage costs 0, anything else at least 1 unless the
  ratio product is 0;
- audio path (usage has audio tokens and the model an ``AudioRatio``): ``round((text_in +
  text_out x completion_ratio + audio_in x audio_ratio + audio_out x audio_ratio x
  audio_completion_ratio) x model_ratio x group_ratio)``, same minimum.

:class:`~newapi.protocol.usage.Usage` counts cached reads and writes *inside* prompt_tokens and
clamps the uncached rest at 0, so cache tokens can never push the charge below the cache's own
price (new-api #5003: Claude usage with large cache reads went negative).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from newapi.billing.prices import Price
from newapi.protocol.usage import Usage


def quota_for(usage: Usage, price: Price, quota_per_unit: float) -> int:
    """The final charge for one call, in quota units."""
    if price.model_price is not None:
        return _per_call(price, quota_per_unit)
    if usage.is_empty:
        return 0
    ratio = _d(price.model_ratio) * _d(price.group_ratio)
    tokens = (
        _audio_tokens(usage, price) if uses_audio_price(usage, price) else _tokens(usage, price)
    )
    quota = int((tokens * ratio).to_integral_value(rounding=ROUND_HALF_UP))
    if ratio != 0 and quota < 1:
        return 1
    return quota


def reserve_for(
    prompt_estimate: int,
    max_tokens: int | None,
    price: Price,
    quota_per_unit: float,
    default_completion: int,
) -> int:
    """The amount pre-consumed before the upstream call.

    Price mode reserves the exact per-call cost. Ratio mode reserves ``(prompt_estimate +
    completion x completion_ratio) x model_ratio x group_ratio`` rounded up, where completion is
    ``max_tokens`` or, when the caller set none, ``default_completion``. Unlike new-api (which
    leaves the completion ratio out) the reservation covers the worst case the caller asked
    for, so settlement only ever refunds. new-api's floor ``max(prompt, PreConsumedQuota)`` is
    the caller's to apply to ``prompt_estimate``.
    """
    if price.model_price is not None:
        return _per_call(price, quota_per_unit)
    completion = max_tokens if max_tokens is not None and max_tokens > 0 else default_completion
    tokens = Decimal(max(prompt_estimate, 0)) + Decimal(max(completion, 0)) * _d(
        price.completion_ratio
    )
    amount = tokens * _d(price.model_ratio) * _d(price.group_ratio)
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def uses_audio_price(usage: Usage, price: Price) -> bool:
    """Whether the audio formula applies: audio tokens and a configured audio ratio."""
    has_audio = usage.audio_prompt_tokens > 0 or usage.audio_completion_tokens > 0
    return has_audio and price.audio_ratio is not None and price.model_price is None


def describe(price: Price) -> str:
    """The consume log's ``content``."""
    group = (
        f"user group ratio {_text(price.user_group_ratio)}"
        if price.user_group_ratio is not None
        else f"group ratio {_text(price.group_ratio)}"
    )
    if price.model_price is not None:
        return f"model price {_text(price.model_price)}, {group}"
    return (
        f"model ratio {_text(price.model_ratio)}, "
        f"completion ratio {_text(price.completion_ratio)}, {group}"
    )


def log_other(price: Price, usage: Usage) -> dict[str, Any]:
    """new-api's billing keys of the consume log's ``other`` (the relay adds frt, admin_info...)."""
    other: dict[str, Any] = {
        "model_ratio": price.model_ratio,
        "group_ratio": price.group_ratio,
        "completion_ratio": price.completion_ratio,
        "cache_tokens": usage.cache_read_tokens,
        "cache_ratio": price.cache_ratio,
        "model_price": -1 if price.model_price is None else price.model_price,
        "user_group_ratio": -1 if price.user_group_ratio is None else price.user_group_ratio,
    }
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    if writes:
        other["cache_creation_tokens"] = writes
        other["cache_creation_ratio"] = price.create_cache_ratio
    if usage.cache_write_tokens:
        other["cache_creation_tokens_5m"] = usage.cache_write_tokens
        other["cache_creation_ratio_5m"] = price.create_cache_ratio
    if usage.cache_write_1h_tokens:
        other["cache_creation_tokens_1h"] = usage.cache_write_1h_tokens
        other["cache_creation_ratio_1h"] = price.create_cache_1h_ratio
    if uses_audio_price(usage, price):
        other.update(
            audio=True,
            audio_input=usage.audio_prompt_tokens,
            audio_output=usage.audio_completion_tokens,
            text_input=max(usage.prompt_tokens - usage.audio_prompt_tokens, 0),
            text_output=max(usage.completion_tokens - usage.audio_completion_tokens, 0),
            audio_ratio=price.audio_ratio,
            audio_completion_ratio=price.audio_completion_ratio,
        )
    return other


def _per_call(price: Price, quota_per_unit: float) -> int:
    amount = _d(price.model_price or 0.0) * _d(quota_per_unit) * _d(price.group_ratio)
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def _tokens(usage: Usage, price: Price) -> Decimal:
    return (
        Decimal(usage.uncached_prompt_tokens)
        + Decimal(usage.cache_read_tokens) * _d(price.cache_ratio)
        + Decimal(usage.cache_write_tokens) * _d(price.create_cache_ratio)
        + Decimal(usage.cache_write_1h_tokens) * _d(price.create_cache_1h_ratio)
        + Decimal(usage.completion_tokens) * _d(price.completion_ratio)
    )


def _audio_tokens(usage: Usage, price: Price) -> Decimal:
    audio_ratio = _d(price.audio_ratio or 0.0)
    text_in = max(usage.prompt_tokens - usage.audio_prompt_tokens, 0)
    text_out = max(usage.completion_tokens - usage.audio_completion_tokens, 0)
    return (
        Decimal(text_in)
        + Decimal(text_out) * _d(price.completion_ratio)
        + Decimal(usage.audio_prompt_tokens) * audio_ratio
        + Decimal(usage.audio_completion_tokens) * audio_ratio * _d(price.audio_completion_ratio)
    )


def _d(value: float) -> Decimal:
    """The decimal a float prints as (shortest round-trip), as Go's NewFromFloat."""
    return Decimal(repr(float(value)))


def _text(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")
