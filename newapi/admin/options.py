"""``/api/option``, ``/api/group``, and the public ``/api/pricing`` and ``/api/ratio_config``.

Options are validated by the registry and saved by the option store, which applies them on this
node at once; other nodes pick them up on their next reload (every SYNC_FREQUENCY seconds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, Response

from newapi.admin.audit import audit
from newapi.admin.respond import json_response, ok, read_body
from newapi.auth.guards import admin_required, authenticate, root_required
from newapi.billing.prices import Price, PriceNotSet, price_for, price_source, table_ratios
from newapi.errors import BadRequest, Forbidden, Unauthorized
from newapi.models import Channel
from newapi.models.channel import CHANNEL_ENABLED
from newapi.options import Options, is_secret_key
from newapi.state import OPTIONS, app_state

bp = Blueprint("options", __name__, url_prefix="/api")

# Turning one of these on needs the other option filled in first (new-api's UpdateOption).
_PREREQUISITES: dict[str, tuple[str, str]] = {
    "GitHubOAuthEnabled": ("GitHubClientId", "GitHub OAuth"),
    "LinuxDOOAuthEnabled": ("LinuxDOClientId", "LinuxDO OAuth"),
    "WeChatAuthEnabled": ("WeChatServerAddress", "WeChat login"),
    "TelegramOAuthEnabled": ("TelegramBotToken", "Telegram login"),
    "TurnstileCheckEnabled": ("TurnstileSiteKey", "Turnstile"),
    "EmailDomainRestrictionEnabled": ("EmailDomainWhitelist", "the email domain whitelist"),
}
_USER_GROUP_DESC = "用户分组"  # how new-api labels a user's own group missing from UserUsableGroups
_RATIO_CONFIG = {
    "model_ratio": "ModelRatio",
    "completion_ratio": "CompletionRatio",
    "cache_ratio": "CacheRatio",
    "create_cache_ratio": "CreateCacheRatio",
    "model_price": "ModelPrice",
}
# Extra per-model ratios in a Pricing row, present only when configured for that model.
_OPTIONAL_RATIOS = {
    "cache_ratio": "CacheRatio",
    "create_cache_ratio": "CreateCacheRatio",
    "image_ratio": "ImageRatio",
    "audio_ratio": "AudioRatio",
    "audio_completion_ratio": "AudioCompletionRatio",
}
_ANTHROPIC_TYPES = frozenset({14, 33})  # Anthropic, AWS Bedrock
_GEMINI_TYPES = frozenset({24, 41})  # Gemini, Vertex AI
_ENDPOINTS = {
    "openai": {"path": "/v1/chat/completions", "method": "POST"},
    "anthropic": {"path": "/v1/messages", "method": "POST"},
    "gemini": {"path": "/v1beta/models/{model}:generateContent", "method": "POST"},
}
DEFAULT_COMPLETION_RATIO = 1.0


# ---- options ---------------------------------------------------------------------------------


@bp.get("/option/")
@root_required
async def list_options() -> Response:
    values = app_state().options.current.raw()
    items = [
        {"key": key, "value": value}
        for key, value in sorted(values.items())
        if not is_secret_key(key)
    ]
    return ok(items)


def _check_prerequisite(key: str, value: Any, opts: Options) -> None:
    needed = _PREREQUISITES.get(key)
    enabling = value is True or (isinstance(value, str) and value.strip().lower() == "true")
    if needed is None or not enabling:
        return
    other_key, feature = needed
    if not opts.str(other_key).strip():
        raise BadRequest(f"cannot enable {feature}: set {other_key} first")


@bp.put("/option/")
@root_required
async def update_option() -> Response:
    body = await read_body()
    key = body.str("key").strip()
    if not key:
        raise BadRequest("key is required")
    if "value" not in body:
        raise BadRequest("value is required (a string, number or boolean)")
    value = body.get("value")
    store = app_state().options
    _check_prerequisite(key, value, store.current)
    stored = await store.update(key, value)
    await app_state().changed(OPTIONS)
    shown = "(hidden)" if is_secret_key(key) else stored[:200]
    await audit("option.update", f"set option {key}", {"key": key, "value": shown})
    return ok()


@bp.get("/group/")
@admin_required
async def list_groups() -> Response:
    return ok(sorted(app_state().options.current.ratio_map("GroupRatio")))


# ---- pricing ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ModelOffer:
    """What the enabled channels offer for one model: its groups and endpoint types."""

    groups: set[str] = field(default_factory=set)
    endpoints: list[str] = field(default_factory=list)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def endpoint_types(channel_type: int) -> list[str]:
    """The API formats a channel of this type serves, preferred first."""
    if channel_type in _ANTHROPIC_TYPES:
        return ["anthropic", "openai"]
    if channel_type in _GEMINI_TYPES:
        return ["gemini", "openai"]
    return ["openai"]


def collect_offers(channels: Iterable[tuple[int, str | None, str | None]]) -> dict[str, ModelOffer]:
    """Model -> offer, from enabled channels' (type, models, group) columns."""
    offers: dict[str, ModelOffer] = {}
    for channel_type, models, groups in channels:
        for model in _split(models):
            offer = offers.setdefault(model, ModelOffer())
            offer.groups.update(_split(groups))
            for endpoint in endpoint_types(channel_type or 0):
                if endpoint not in offer.endpoints:
                    offer.endpoints.append(endpoint)
    return offers


def usable_groups(opts: Options, user_group: str) -> dict[str, str]:
    """UserUsableGroups, plus the user's own group when it is not listed."""
    raw = opts.json("UserUsableGroups")
    groups = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    if user_group and user_group not in groups:
        groups[user_group] = _USER_GROUP_DESC
    return groups


def group_ratios(opts: Options, user_group: str, usable: dict[str, str]) -> dict[str, float]:
    """GroupRatio limited to the usable groups, with the user group's GroupGroupRatio overrides."""
    ratios = dict(opts.ratio_map("GroupRatio"))
    special = opts.json("GroupGroupRatio")
    overrides = special.get(user_group) if user_group and isinstance(special, dict) else None
    if isinstance(overrides, dict):
        for group, ratio in overrides.items():
            if group in ratios and isinstance(ratio, int | float) and not isinstance(ratio, bool):
                ratios[group] = ratio
    return {group: ratio for group, ratio in ratios.items() if group in usable}


def pricing_row(model: str, offer: ModelOffer, groups: list[str], opts: Options) -> dict[str, Any]:
    """One Pricing entry, priced as the relay prices (options, then the packaged price table).

    A model with no price reads quota_type 0, ratio 0; ``price_source`` (newapi's addition)
    says where the price comes from: ``option``, ``default``, ``table`` or ``null``.
    """
    try:
        price: Price | None = price_for(opts, model, "", "")
    except PriceNotSet:
        price = None
    row: dict[str, Any] = {"model_name": model, "quota_type": 0, "model_ratio": 0.0}
    if price is None:
        completion = opts.ratio_map("CompletionRatio").get(model, DEFAULT_COMPLETION_RATIO)
        row.update(model_price=0.0, completion_ratio=completion)
    elif price.model_price is not None:
        row.update(quota_type=1, model_price=price.model_price, completion_ratio=0.0)
    else:
        row.update(
            model_ratio=price.model_ratio,
            model_price=0.0,
            completion_ratio=price.completion_ratio,
        )
    for name, option in _OPTIONAL_RATIOS.items():
        ratios = opts.ratio_map(option)
        if model in ratios:
            row[name] = ratios[model]
    table = table_ratios(opts, model) if price is not None and price.model_price is None else None
    if table is not None:
        for name in ("cache_ratio", "create_cache_ratio"):
            if name not in row and getattr(table, name) is not None:
                row[name] = getattr(table, name)
    row.update(
        owner_by="",
        enable_groups=groups,
        supported_endpoint_types=offer.endpoints,
        price_source=price_source(opts, model),
    )
    return row


def build_pricing(
    offers: dict[str, ModelOffer], opts: Options, usable: dict[str, str]
) -> list[dict[str, Any]]:
    """Pricing rows for the models a caller with these usable groups can reach, by name."""
    rows = []
    for model in sorted(offers):
        offer = offers[model]
        if "all" in offer.groups:
            groups = sorted(offer.groups)
        else:
            groups = sorted(g for g in offer.groups if g in usable)
            if not groups:
                continue
        rows.append(pricing_row(model, offer, groups, opts))
    return rows


async def _caller_group() -> str:
    """The logged-in caller's group, or "" for an anonymous visitor (pricing is public)."""
    try:
        user = await authenticate()
    except (Unauthorized, Forbidden):
        return ""
    return user.group or "default"


@bp.get("/pricing")
async def pricing() -> Response:
    opts = app_state().options.current
    user_group = await _caller_group()
    enabled = Channel.filter(status=CHANNEL_ENABLED).order_by("id")
    channels = await enabled.values_list("type", "models", "group")
    offers = collect_offers(channels)
    usable = usable_groups(opts, user_group)
    rows = build_pricing(offers, opts, usable)
    used = {endpoint for row in rows for endpoint in row["supported_endpoint_types"]}
    auto = opts.json("AutoGroups")
    return json_response(
        {
            "success": True,
            "data": rows,
            "vendors": [],
            "group_ratio": group_ratios(opts, user_group, usable),
            "usable_group": usable,
            "supported_endpoint": {name: _ENDPOINTS[name] for name in sorted(used)},
            "auto_groups": [g for g in auto if g in usable] if isinstance(auto, list) else [],
        }
    )


@bp.get("/ratio_config")
async def ratio_config() -> Response:
    opts = app_state().options.current
    if not opts.bool("ExposeRatioEnabled"):
        return json_response(
            {"success": False, "message": "the ratio config endpoint is not enabled"}, 403
        )
    data = {name: opts.ratio_map(option) for name, option in _RATIO_CONFIG.items()}
    return ok(data)
