"""Writing log rows (topup, manage, system, login). Consume logs come from the relay's writer."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.models import Log


async def record(
    log_type: int,
    *,
    user_id: int,
    username: str,
    content: str,
    quota: int = 0,
    ip: str = "",
    other: dict[str, Any] | None = None,
) -> Log:
    """Append one log row. Never put secrets (keys, passwords, tokens) in ``content``/``other``."""
    return await Log.create(
        user_id=user_id,
        username=username,
        created_at=int(time.time()),
        type=log_type,
        content=content,
        quota=quota,
        ip=ip,
        other=orjson.dumps(other).decode() if other else "",
    )
