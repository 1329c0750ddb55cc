"""Token (API key) queries and the key format."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from newapi.models import Token

KEY_LENGTH = 48
_ALNUM = string.ascii_letters + string.digits


def new_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(KEY_LENGTH))


def mask_key(key: str) -> str:
    """First 4 + ``**********`` + last 4, as new-api lists keys."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:4]}**********{key[-4:]}"


def normalize_key(raw: str) -> str:
    """Strip ``Bearer``, ``sk-`` and an admin ``-<channel>`` suffix from a presented key."""
    key = raw.strip().removeprefix("Bearer ").strip().removeprefix("sk-")
    return key.split("-", 1)[0]


def token_json(token: Token, *, reveal: bool = False) -> dict[str, Any]:
    key = token.key or ""
    return {
        "id": token.id,
        "user_id": token.user_id or 0,
        "key": key if reveal else mask_key(key),
        "status": token.status or 0,
        "name": token.name or "",
        "created_time": token.created_time or 0,
        "accessed_time": token.accessed_time or 0,
        "expired_time": token.expired_time if token.expired_time is not None else -1,
        "remain_quota": token.remain_quota or 0,
        "unlimited_quota": bool(token.unlimited_quota),
        "model_limits_enabled": bool(token.model_limits_enabled),
        "model_limits": token.model_limits or "",
        "allow_ips": token.allow_ips or "",
        "used_quota": token.used_quota or 0,
        "group": token.group or "",
        "cross_group_retry": bool(token.cross_group_retry),
        "DeletedAt": token.deleted_at.isoformat() if token.deleted_at else None,
    }


def relay_record(token: Token) -> dict[str, Any]:
    """The cached snapshot the relay checks on every request."""
    return {
        "id": token.id,
        "user_id": token.user_id or 0,
        "status": token.status or 0,
        "name": token.name or "",
        "expired_time": token.expired_time if token.expired_time is not None else -1,
        "remain_quota": token.remain_quota or 0,
        "unlimited_quota": bool(token.unlimited_quota),
        "model_limits_enabled": bool(token.model_limits_enabled),
        "model_limits": token.model_limits or "",
        "allow_ips": token.allow_ips or "",
        "group": token.group or "",
        "cross_group_retry": bool(token.cross_group_retry),
    }


def live(**filters: Any) -> Any:
    return Token.filter(deleted_at__isnull=True, **filters)


def is_expired(token: Token, now: float | None = None) -> bool:
    expired = token.expired_time if token.expired_time is not None else -1
    return expired != -1 and expired < (now or time.time())
