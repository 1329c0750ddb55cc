"""Who is calling the relay: key reading and the token, user, group and model checks.

Everything here reads the cache (tokens by key, users by id), never the database on a hit.
Refusals are :class:`~newapi.errors.RelayError`s, rendered in the caller's own format.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from quart import g, request

from newapi.cache.entities import EntityCache
from newapi.errors import RelayForbidden, RelayUnauthorized
from newapi.models.token import TOKEN_ENABLED
from newapi.models.user import ROLE_ADMIN, USER_ENABLED
from newapi.options import Options
from newapi.routing.groups import AUTO
from newapi.routing.index import split_list
from newapi.store.entities import token_by_key, user_by_id


@dataclass(frozen=True, slots=True)
class Caller:
    key: str = ""  # the raw key without sk-; never logged
    token: Any = None  # the cached token record (dict)
    user: Any = None  # the cached user record (dict)
    group: str = "default"  # the group used for routing and its ratio
    forced_channel: int | None = None  # admin-only "sk-<key>-<channel id>"
    # For an ``auto`` key: the AutoGroups this user may use, in order (see routing.groups).
    auto_groups: tuple[str, ...] = ()

    @property
    def token_id(self) -> int:
        return int(self.token["id"])

    @property
    def user_id(self) -> int:
        return int(self.user["id"])


def is_gemini_path(path: str) -> bool:
    """Gemini's API: everything under /v1beta, and /v1/models/{model}:{method} (google-genai
    calls the v1 paths), and a /v1/models listing asked for with a Google key header."""
    if path.startswith("/v1beta/"):
        return not path.startswith("/v1beta/openai/")  # Google's OpenAI-compatible API
    if path.startswith("/v1/models"):
        return ":" in path or "x-goog-api-key" in request.headers or "key" in request.args
    return False


def read_key() -> tuple[str, str]:
    """(key, channel suffix) from the request, in new-api's order of places."""
    headers = request.headers
    raw = ""
    protocol = headers.get("Sec-WebSocket-Protocol", "")
    for item in protocol.split(","):
        if item.strip().startswith("openai-insecure-api-key."):
            raw = item.strip().removeprefix("openai-insecure-api-key.")
    if not raw and (request.path.startswith(("/v1/messages", "/v1/models"))):
        raw = headers.get("x-api-key", "")
    if not raw and is_gemini_path(request.path):
        # Google's clients: the x-goog-api-key header, or ?key= (the Gemini REST examples).
        raw = headers.get("x-goog-api-key", "") or request.args.get("key", "")
    if not raw:
        raw = headers.get("Authorization", "")
    raw = raw.strip()
    for prefix in ("Bearer ", "bearer "):
        raw = raw.removeprefix(prefix)
    raw = raw.strip().removeprefix("sk-")
    key, _, suffix = raw.partition("-")
    return key, suffix


async def authenticate(entities: EntityCache, options: Options) -> Caller:
    key, suffix = read_key()
    if not key:
        raise RelayUnauthorized("no API key given: send Authorization: Bearer sk-...")
    token = await token_by_key(entities, key)
    if token is None:
        raise RelayUnauthorized("invalid API key")
    _check_token(token)
    user = await user_by_id(entities, int(token["user_id"]))
    if user is None or user.get("status") != USER_ENABLED:
        raise RelayForbidden("the user of this API key is disabled", code="user_disabled")
    forced = _forced_channel(suffix, user)
    group = _using_group(token, user, options)
    auto = _auto_groups(user, options) if group == AUTO else ()
    caller = Caller(key, token, user, group, forced, auto)
    g.relay_caller = caller  # for the error log of this request
    return caller


def _check_token(token: dict[str, Any]) -> None:
    expired = token.get("expired_time", -1)
    if token.get("status") != TOKEN_ENABLED:
        raise RelayUnauthorized("this API key is disabled, expired or used up")
    if expired not in (-1, None) and expired < time.time():
        raise RelayUnauthorized("this API key has expired")
    allowed = token.get("allow_ips") or ""
    if allowed.strip() and not _ip_allowed(request.remote_addr or "", allowed):
        raise RelayForbidden("this API key may not be used from your IP address")


def _ip_allowed(address: str, allowed: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed.replace(",", "\n").splitlines():
        entry = entry.strip()
        if not entry:
            continue
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _forced_channel(suffix: str, user: dict[str, Any]) -> int | None:
    if not suffix:
        return None
    if (user.get("role") or 0) < ROLE_ADMIN:
        raise RelayForbidden("only administrators may pick a channel with the key suffix")
    if not suffix.isdigit():
        raise RelayForbidden("the key suffix must be a channel id")
    return int(suffix)


def _using_group(token: dict[str, Any], user: dict[str, Any], options: Options) -> str:
    user_group = user.get("group") or "default"
    group = token.get("group") or ""
    if not group:
        return user_group
    if group != user_group and group not in _usable(options):
        raise RelayForbidden(f"group {group!r} is not available to this user")
    if group != AUTO and group not in options.ratio_map("GroupRatio"):
        raise RelayForbidden(f"group {group!r} no longer exists")
    return group


def _usable(options: Options) -> dict[str, Any]:
    usable = options.json("UserUsableGroups")
    return usable if isinstance(usable, dict) else {}


def _auto_groups(user: dict[str, Any], options: Options) -> tuple[str, ...]:
    """AutoGroups limited to the groups this user may use (and that still have a ratio)."""
    user_group = user.get("group") or "default"
    usable, ratios = _usable(options), options.ratio_map("GroupRatio")
    configured = options.json("AutoGroups")
    return tuple(
        group
        for group in (configured if isinstance(configured, list) else [])
        if isinstance(group, str) and (group in usable or group == user_group) and group in ratios
    )


def check_model_allowed(caller: Caller, model: str) -> None:
    token = caller.token
    if token.get("model_limits_enabled") and model not in split_list(token.get("model_limits")):
        raise RelayForbidden(f"this API key may not use model {model!r}", code="model_not_allowed")
