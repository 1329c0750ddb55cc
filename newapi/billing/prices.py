"""The price of one call: every ratio billing needs, from the options and the price table (pure).

:func:`price_for` resolves a model name and the caller's groups against a snapshot of the
options (and the packaged price table the snapshot carries), with new-api's rules:

- Precedence, field by field: an entry in the option maps (what the admin configured, or a
  hand-typed default) wins; then the packaged price table (:mod:`newapi.billing.price_table`,
  genai-prices' published $/MTok as ratios, at the time of the call); then the defaults below.
- ``ModelPrice`` (USD per call) wins over ``ModelRatio`` and the table: billed per call.
- A model in neither map nor the table raises :class:`PriceNotSet` (the relay answers 400
  ``model_price_error``), unless ``SelfUseModeEnabled`` is on or the user accepts unset models
  (:func:`accepts_unset_models`): then the ratio is 37.5 and the call is billed and logged as
  any other, as new-api (``GetModelRatio`` answers 37.5 for an unknown name; self-use mode
  turns that miss into a hit).
- Completion ratio: new-api's hardcoded rules (§3 of the relay reference). A *locked* rule beats
  the ``CompletionRatio`` map; an unlocked one only fills in when neither the map nor the table
  has an entry; names containing "/" (provider-prefixed) read the map first. The table beats a
  lock: a lock is new-api's guard against stale hand-typed maps, written from the same
  published prices the table carries; where the two differ the lock is the stale one
  (mistral-medium: locked 3, published $0.40/$2.00 = 5), and the table's completion ratio is
  always the pair of the model ratio it gives. Locked: gpt-4o-2024-05-13 3, gpt-5 (no
  dot) 8, gpt-5.4 6, gpt-5.4-nano 6.25, gpt-4.5-preview 2, gpt-4-turbo/*-1106 3, gpt-3.5-turbo and
  *0125 3, gpt-3.5 *1106 2, other gpt-3.5 4/3, o1*/o3* 4, chatgpt-4o-latest 3, claude-3* and
  claude-{sonnet,opus,haiku}-4* 5, mistral-* 3, gemini-1.5/2.0 4. Unlocked: *-all/*-gizmo-* 2,
  gpt-4o* 4, other gpt-5.x 8, other gpt-* 2, gemini-2.5-pro 8, gemini-2.5-flash 2.5/0.3,
  flash-lite 4, gemini-2.5-flash-preview 3.5/0.15 (-nothinking 4), gemini-3-pro 6 (image 60),
  other gemini 4, everything else 1.
  Two deliberate readings: the gpt-3.5 rules are checked before the generic gpt-* rule (newer
  new-api checks them after it, which leaves them dead), and dotted gpt-5.x models other than
  5.4 keep gpt-5's 8 but unlocked, so an admin's entry wins.
- Cache read ratio from ``CacheRatio``, else the table, else 1; cache write (5 minutes) from
  ``CreateCacheRatio``, else the table, else 1.25; a 1-hour write costs the configured 5-minute
  ratio x 1.6, else the table's 1-hour price, else the 5-minute ratio x 1.6.
- Group ratio: ``GroupGroupRatio[user_group][using_group]`` when set (logged as
  ``user_group_ratio``), else ``GroupRatio[using_group]``, else 1.
- Audio ratio from ``AudioRatio`` (``None`` when unset: the audio path is off), audio completion
  ratio from ``AudioCompletionRatio``, else 1.

Model-name suffixes (``-thinking``, reasoning efforts, gizmo ids) are the relay's business: the
name given is priced as it is.
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import orjson

from newapi.billing.price_table import TableRatios
from newapi.errors import PriceNotConfigured
from newapi.options.registry import Options
from newapi.protocol.gemini import thinking_suffix

SELF_USE_MODEL_RATIO = 37.5
# The key (sic) of new-api's user setting AcceptUnsetRatioModel in users.setting.
ACCEPT_UNSET_SETTING = "accept_unset_model_ratio_model"
DEFAULT_CACHE_RATIO = 1.0
DEFAULT_CREATE_CACHE_RATIO = 1.25
ONE_HOUR_CACHE_MULTIPLIER = Decimal("1.6")  # Anthropic: 1-hour writes 2x, 5-minute 1.25x


class PriceNotSet(PriceNotConfigured):
    """The model has neither a ratio nor a per-call price."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"model {model} ratio or price not set, please set it or enable self-use mode"
        )
        self.model = model


@dataclass(frozen=True, slots=True)
class Price:
    """Everything billing multiplies by. In price mode the token ratios are 0, as new-api logs."""

    model_ratio: float = 0.0
    completion_ratio: float = 1.0
    cache_ratio: float = DEFAULT_CACHE_RATIO
    create_cache_ratio: float = DEFAULT_CREATE_CACHE_RATIO
    create_cache_1h_ratio: float = 2.0
    group_ratio: float = 1.0
    model_price: float | None = None  # USD per call; wins over the ratios
    audio_ratio: float | None = None  # None: no audio price configured
    audio_completion_ratio: float = 1.0
    user_group_ratio: float | None = None  # the GroupGroupRatio override, when it applied

    @property
    def quota_type(self) -> int:
        """new-api's pricing ``quota_type``: 0 per token, 1 per call."""
        return 0 if self.model_price is None else 1

    @property
    def is_free(self) -> bool:
        """Nothing to charge (``EnableFreeModelPreConsume`` may then skip billing)."""
        base = self.model_ratio if self.model_price is None else self.model_price
        return base * self.group_ratio == 0


def price_for(
    options: Options,
    model: str,
    using_group: str,
    user_group: str,
    *,
    accept_unset: bool = False,
    at: datetime | None = None,
) -> Price:
    """The price of ``model`` for a caller in ``user_group`` spending from ``using_group``.

    ``accept_unset`` is the user setting ``accept_unset_ratio_model``; ``at`` the time whose
    table prices apply (now when omitted: DeepSeek's off-peak hours, dated price changes).
    """
    group_ratio, user_group_ratio = _group_ratio(options, using_group, user_group)
    model_price = _lookup(options, "ModelPrice", model)
    if model_price is not None:
        return Price(
            completion_ratio=0.0,
            cache_ratio=0.0,
            create_cache_ratio=0.0,
            create_cache_1h_ratio=0.0,
            group_ratio=group_ratio,
            model_price=model_price,
            user_group_ratio=user_group_ratio,
        )
    table = table_ratios(options, model, at)
    model_ratio = _lookup(options, "ModelRatio", model)
    if model_ratio is None and table is not None:
        model_ratio = table.model_ratio
    if model_ratio is None:
        if not (accept_unset or options.bool("SelfUseModeEnabled")):
            raise PriceNotSet(model)
        model_ratio = SELF_USE_MODEL_RATIO
    return _token_price(options, model, model_ratio, table, (group_ratio, user_group_ratio))


PriceSource = Literal["option", "default", "table"]


def price_source(options: Options, model: str, at: datetime | None = None) -> PriceSource | None:
    """Where ``model``'s base price comes from: an option the admin saved (``option``), a
    hand-typed option default (``default``), the packaged table (``table``), or nowhere."""
    for key in ("ModelPrice", "ModelRatio"):
        if _lookup(options, key, model) is not None:
            return "option" if options.is_stored(key) else "default"
    return "table" if table_ratios(options, model, at) is not None else None


def table_ratios(options: Options, model: str, at: datetime | None = None) -> TableRatios | None:
    """The price table's ratios for ``model`` (a Gemini thinking variant as its base model),
    or ``None`` when the snapshot carries no table or the table lacks the model."""
    table = options.prices
    if table is None:
        return None
    found = table.lookup(model, at=at)
    if found is None and model.startswith("gemini-"):
        base, thinking = thinking_suffix(model)
        if thinking is not None:
            found = table.lookup(base, at=at)
    return found


def accepts_unset_models(setting: Any) -> bool:
    """Whether a user's ``setting`` JSON accepts models without a ratio (new-api's
    ``AcceptUnsetRatioModel``). Read only when a price is missing, never per request."""
    if not isinstance(setting, str) or ACCEPT_UNSET_SETTING not in setting:
        return False
    with suppress(orjson.JSONDecodeError):
        parsed = orjson.loads(setting)
        return isinstance(parsed, dict) and parsed.get(ACCEPT_UNSET_SETTING) is True
    return False


def _token_price(
    options: Options,
    model: str,
    model_ratio: float,
    table: TableRatios | None,
    groups: tuple[float, float | None],
) -> Price:
    group_ratio, user_group_ratio = groups
    create, create_1h = _create_cache_ratios(options, model, table)
    cache = _first(
        _lookup(options, "CacheRatio", model),
        table.cache_ratio if table is not None else None,
        DEFAULT_CACHE_RATIO,
    )
    audio_completion = _lookup(options, "AudioCompletionRatio", model)
    return Price(
        model_ratio=model_ratio,
        completion_ratio=_completion_ratio(options, model, table),
        cache_ratio=cache,
        create_cache_ratio=create,
        create_cache_1h_ratio=create_1h,
        group_ratio=group_ratio,
        audio_ratio=_lookup(options, "AudioRatio", model),
        audio_completion_ratio=1.0 if audio_completion is None else audio_completion,
        user_group_ratio=user_group_ratio,
    )


def _create_cache_ratios(
    options: Options, model: str, table: TableRatios | None
) -> tuple[float, float]:
    """The 5-minute and 1-hour cache-write ratios (see the module docstring)."""
    configured = _lookup(options, "CreateCacheRatio", model)
    if configured is None and table is not None and table.create_cache_ratio is not None:
        create = table.create_cache_ratio
        if table.create_cache_1h_ratio is not None:
            return create, table.create_cache_1h_ratio
    else:
        create = DEFAULT_CREATE_CACHE_RATIO if configured is None else configured
    return create, float(Decimal(repr(create)) * ONE_HOUR_CACHE_MULTIPLIER)


def completion_ratio(options: Options, model: str, at: datetime | None = None) -> float:
    """The output-token multiplier: the config map for provider-prefixed names, then a locked
    rule (the table's ratio when it has one), the config map, the table, the unlocked rule."""
    return _completion_ratio(options, model, table_ratios(options, model, at))


def _completion_ratio(options: Options, model: str, table: TableRatios | None) -> float:
    configured = _lookup(options, "CompletionRatio", model)
    if "/" in model and configured is not None:
        return configured
    from_table = table.completion_ratio if table is not None else None
    ratio, locked = hardcoded_completion_ratio(model)
    if locked:
        return ratio if from_table is None else from_table
    return _first(configured, from_table, ratio)


def _first(*values: float | None) -> float:
    """The first value that is set (the last one always is)."""
    return next(value for value in values if value is not None)


def hardcoded_completion_ratio(model: str) -> tuple[float, bool]:
    """new-api's built-in completion ratio for a name, and whether it is locked."""
    if model.endswith(("-all", "-gizmo-*")):
        return 2, False
    if model.startswith("gpt-"):
        return _gpt_completion_ratio(model)
    if model.startswith(("o1", "o3")):
        return 4, True
    if model == "chatgpt-4o-latest":
        return 3, True
    if "claude-3" in model or any(
        family in model for family in ("claude-sonnet-4", "claude-opus-4", "claude-haiku-4")
    ):
        return 5, True
    if model.startswith("mistral-"):
        return 3, True
    if model.startswith("gemini-"):
        return _gemini_completion_ratio(model)
    return 1, False


def _gpt_completion_ratio(model: str) -> tuple[float, bool]:
    if model.startswith("gpt-4o"):
        return (3, True) if model == "gpt-4o-2024-05-13" else (4, False)
    if model.startswith("gpt-5"):
        if model.startswith("gpt-5.4-nano"):
            return 6.25, True
        if model.startswith("gpt-5.4"):
            return 6, True
        return 8, "." not in model
    if model.startswith("gpt-4.5-preview"):
        return 2, True
    if model.startswith("gpt-4-turbo") or model.endswith(("gpt-4-1106", "gpt-4-1105")):
        return 3, True
    if model.startswith("gpt-3.5"):
        if model == "gpt-3.5-turbo" or model.endswith("0125"):
            return 3, True
        if model.endswith("1106"):
            return 2, True
        return 4 / 3, True
    return 2, False


def _gemini_completion_ratio(model: str) -> tuple[float, bool]:
    if model.startswith(("gemini-1.5", "gemini-2.0")):
        return 4, True
    if model.startswith("gemini-2.5-pro"):
        return 8, False
    if model.startswith("gemini-2.5-flash-preview"):
        return (4, False) if model.endswith("-nothinking") else (3.5 / 0.15, False)
    if model.startswith("gemini-2.5-flash-lite"):
        return 4, False
    if model.startswith(("gemini-2.5-flash", "gemini-robotics-er-1.5")):
        return 2.5 / 0.3, False
    if model.startswith("gemini-3-pro"):
        return (60, False) if model.startswith("gemini-3-pro-image") else (6, False)
    if model.startswith("gemini-3-flash"):
        return 6, False  # $3 out / $0.50 in
    return 4, False


def _group_ratio(options: Options, using_group: str, user_group: str) -> tuple[float, float | None]:
    overrides = options.json("GroupGroupRatio")
    if isinstance(overrides, dict):
        special = overrides.get(user_group)
        if isinstance(special, dict):
            ratio = _number(special.get(using_group))
            if ratio is not None:
                return ratio, ratio
    ratio = _lookup(options, "GroupRatio", using_group)
    return (1.0 if ratio is None else ratio), None


def _lookup(options: Options, key: str, name: str) -> float | None:
    """``name``'s entry; a Gemini thinking variant (``-thinking-1024``, ``-nothinking``) without
    one of its own is priced as its base model (new-api's ``...-thinking-*`` defaults)."""
    ratios = options.ratio_map(key)
    found = _number(ratios.get(name))
    if found is None and name.startswith("gemini-"):
        base, thinking = thinking_suffix(name)
        if thinking is not None:
            found = _number(ratios.get(base))
    return found


def _number(value: Any) -> float | None:
    """A usable ratio: a finite, non-negative number (rows written by other nodes may be odd)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)
