"""What an API key's holder may read about the key: OpenAI's billing views and new-api's own.

- ``/v1/dashboard/billing/subscription`` and ``/v1/dashboard/billing/usage`` (also without
  ``/v1``): OpenAI's ``billing_subscription`` and usage objects, as neko-api-key-tool and other
  balance checkers read them. The key is checked as on the relay; errors are OpenAI's.
  ``DisplayTokenStatEnabled`` shows the key's figures, else its owner's; amounts follow the
  quota display type (USD, CNY, TOKENS, CUSTOM); an unlimited key shows 100000000.
- ``/api/usage/token/`` and ``/api/log/token``: new-api's read-only key views. An expired or
  used-up key may still read them; a disabled key or a banned owner may not. Errors come in
  new-api's envelope (401 for the key, 403 for the owner). ``/api/log/token`` also takes the
  key as ``?key=sk-...`` (neko-api-key-tool sends no header) and lists the key's logs, newest
  first, at most 1000, in the user's view (no admin-only details).

Quota figures are read from the database, never from the relay's cached token. Every answer
allows any origin (CORS), as new-api's.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from newapi.admin.respond import json_response, ok
from newapi.billing.ratios import QUOTA_PER_UNIT
from newapi.errors import Forbidden, GatewayError, RelayUnauthorized, Unauthorized, admin_body
from newapi.models import Log, Token, User
from newapi.models.token import TOKEN_DISABLED
from newapi.models.user import USER_ENABLED
from newapi.options import Options
from newapi.relay import relay_blueprint
from newapi.relay.auth import authenticate
from newapi.routing.index import split_list
from newapi.state import app_state
from newapi.store.log_queries import user_log_json

bp = relay_blueprint("relay_billing_api")
# The /api views: a blueprint of their own, so their errors render in new-api's envelope.
key_views = Blueprint("key_views", __name__, url_prefix="/api")

UNLIMITED_AMOUNT = 100_000_000  # what an unlimited key's limits show
MAX_KEY_LOGS = 1000


class KeyOwnerBanned(Forbidden):
    """new-api's read-only key check answers a banned owner with HTTP 403, not 200."""

    admin_status = 403


@key_views.errorhandler(GatewayError)
async def envelope_error(error: GatewayError) -> Response:
    body, status = admin_body(error)
    response = json_response(body, status)
    response.headers.update(error.headers)
    return response


def display_amount(options: Options, quota: int) -> float:
    """``quota`` in the configured display unit (new-api's quota display type)."""
    kind = options.str("general_setting.quota_display_type").upper()
    if kind == "TOKENS":
        return float(quota)
    usd = quota / (options.float("QuotaPerUnit") or QUOTA_PER_UNIT)
    if kind == "CNY":
        return usd * options.float("USDExchangeRate")
    if kind == "CUSTOM":
        rate = options.float("general_setting.custom_currency_exchange_rate")
        return usd * (rate if rate > 0 else 1)
    return usd


async def _token(token_id: int) -> Token:
    token = await Token.filter(id=token_id, deleted_at__isnull=True).first()
    if token is None:
        raise RelayUnauthorized("invalid API key")
    return token


async def _user(user_id: int) -> User:
    user = await User.filter(id=user_id, deleted_at__isnull=True).first()
    if user is None:
        raise RelayUnauthorized("the user of this API key no longer exists")
    return user


# ---- OpenAI's billing views --------------------------------------------------------------------


async def _limit_and_expiry(options: Options, token_id: int, user_id: int) -> tuple[float, int]:
    if options.bool("DisplayTokenStatEnabled"):
        token = await _token(token_id)
        if token.unlimited_quota:
            amount = float(UNLIMITED_AMOUNT)
        else:
            amount = display_amount(options, (token.remain_quota or 0) + (token.used_quota or 0))
        return amount, max(token.expired_time or 0, 0)
    user = await _user(user_id)
    return display_amount(options, (user.quota or 0) + (user.used_quota or 0)), 0


@bp.get("/v1/dashboard/billing/subscription")
@bp.get("/dashboard/billing/subscription")
async def subscription() -> Response:
    state = app_state()
    options = state.options.current
    caller = await authenticate(state.entities, options)
    amount, access_until = await _limit_and_expiry(options, caller.token_id, caller.user_id)
    return json_response(
        {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": amount,
            "hard_limit_usd": amount,
            "system_hard_limit_usd": amount,
            "access_until": access_until,
        }
    )


@bp.get("/v1/dashboard/billing/usage")
@bp.get("/dashboard/billing/usage")
async def usage() -> Response:
    # The date parameters OpenAI's API takes are ignored, as new-api does: all-time usage.
    state = app_state()
    options = state.options.current
    caller = await authenticate(state.entities, options)
    if options.bool("DisplayTokenStatEnabled"):
        used = (await _token(caller.token_id)).used_quota or 0
    else:
        used = (await _user(caller.user_id)).used_quota or 0
    return json_response({"object": "list", "total_usage": display_amount(options, used) * 100})


# ---- new-api's read-only key views -------------------------------------------------------------


def _presented_key(*, query_allowed: bool) -> str:
    raw = request.headers.get("Authorization", "").strip()
    if not raw and query_allowed:
        raw = request.args.get("key", "").strip()
    if not raw:
        raise Unauthorized("no API key given: send Authorization: Bearer sk-...")
    for prefix in ("Bearer ", "bearer "):
        raw = raw.removeprefix(prefix)
    return raw.strip().removeprefix("sk-").split("-", 1)[0]


async def read_only_token(*, query_allowed: bool = False) -> Token:
    """The presented key's token, checked as new-api's TokenAuthReadOnly does."""
    key = _presented_key(query_allowed=query_allowed)
    token = await Token.filter(key=key, deleted_at__isnull=True).first() if key else None
    if token is None:
        raise Unauthorized("invalid API key")
    if token.status == TOKEN_DISABLED:
        raise Unauthorized("this API key is disabled")
    owner = await User.filter(id=token.user_id, deleted_at__isnull=True).first()
    if owner is None or owner.status != USER_ENABLED:
        raise KeyOwnerBanned("the user of this API key is disabled")
    return token


def token_usage_json(token: Token) -> dict[str, Any]:
    remain, used = token.remain_quota or 0, token.used_quota or 0
    expires = token.expired_time if token.expired_time is not None else -1
    return {
        "object": "token_usage",
        "name": token.name or "",
        "total_granted": remain + used,
        "total_used": used,
        "total_available": remain,
        "unlimited_quota": bool(token.unlimited_quota),
        "model_limits": {model: True for model in split_list(token.model_limits)},
        "model_limits_enabled": bool(token.model_limits_enabled),
        "expires_at": 0 if expires == -1 else expires,
    }


@key_views.get("/usage/token/")
@key_views.get("/usage/token")
async def token_usage() -> Response:
    token = await read_only_token()
    return json_response({"code": True, "message": "ok", "data": token_usage_json(token)})


@key_views.get("/log/token")
async def token_logs() -> Response:
    token = await read_only_token(query_allowed=True)
    rows = await Log.filter(token_id=token.id).order_by("-id").limit(MAX_KEY_LOGS)
    return ok([user_log_json(row, number) for number, row in enumerate(rows, start=1)])


bp.register_blueprint(key_views)
