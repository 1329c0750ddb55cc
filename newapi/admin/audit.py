"""Type-3 (manage) logs for admin writes, as new-api's operation audit records them."""

from __future__ import annotations

from typing import Any

from quart import session

from newapi.auth.guards import current_user
from newapi.auth.ratelimit import client_ip
from newapi.models.log import LOG_MANAGE
from newapi.store import logs


async def audit(action: str, content: str, params: dict[str, Any], target_user_id: int = 0) -> None:
    """Log an admin write, owned by the acting admin.

    Never pass secrets (passwords, keys, option values of secret keys) in ``content`` or
    ``params``.
    """
    actor = current_user()
    if target_user_id and target_user_id != actor.id:
        params = {**params, "target_user_id": target_user_id}
    await logs.record(
        LOG_MANAGE,
        user_id=actor.id,
        username=actor.username,
        content=content,
        ip=client_ip(),
        other={
            "op": {"action": action, "params": params},
            "admin_info": {
                "admin_id": actor.id,
                "admin_username": actor.username,
                "admin_role": actor.role or 0,
                "auth_method": "session" if session.get("id") is not None else "access_token",
            },
        },
    )
