"""``POST /api/channel/multi_key/manage``: the keys of a multi-key channel, one by one.

Actions: ``get_key_status`` (each key's status, disable reason and time, and a masked preview;
never the key), ``enable_key`` / ``disable_key`` (``key_index``) and ``enable_all_keys``.
Enabling a key of a channel that was auto-disabled because no key was left re-enables the
channel; disabling the last enabled key disables the channel (as the relay's auto-disable does).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from newapi.admin.audit import audit
from newapi.admin.respond import ok, read_body
from newapi.auth.guards import admin_required
from newapi.errors import BadRequest, NotFound
from newapi.models import Channel
from newapi.models.channel import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED
from newapi.state import CHANNELS, app_state
from newapi.store import channels as store

bp = Blueprint("channel_keys", __name__, url_prefix="/api")

ACTIONS = ("get_key_status", "enable_key", "disable_key", "enable_all_keys")


def preview(key: str) -> str:
    """Enough of a key to tell keys apart, never enough to use it."""
    return f"{key[:5]}…{key[-4:]}" if len(key) > 12 else "…"


def key_rows(channel: Channel) -> list[dict[str, Any]]:
    info = store.channel_info(channel)
    statuses = info.get("multi_key_status_list") or {}
    reasons = info.get("multi_key_disabled_reason") or {}
    times = info.get("multi_key_disabled_time") or {}
    keys = [line.strip() for line in (channel.key or "").splitlines() if line.strip()]
    return [
        {
            "index": index,
            "status": int(statuses.get(str(index), CHANNEL_ENABLED)),
            "disabled_reason": str(reasons.get(str(index), "")),
            "disabled_time": int(times.get(str(index), 0) or 0),
            "preview": preview(key),
        }
        for index, key in enumerate(keys)
    ]


async def _multi_key_channel(channel_id: int) -> Channel:
    channel = await Channel.filter(id=channel_id).first()
    if channel is None:
        raise NotFound("channel not found")
    if not store.channel_info(channel).get("is_multi_key"):
        raise BadRequest("this channel has a single key")
    return channel


@bp.post("/channel/multi_key/manage")
@admin_required
async def manage() -> Response:
    body = await read_body()
    action = body.str("action")
    if action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
    channel = await _multi_key_channel(body.int("channel_id"))
    if action == "get_key_status":
        mode = store.channel_info(channel).get("multi_key_mode") or "random"
        return ok({"mode": mode, "keys": key_rows(channel)})
    if action == "enable_all_keys":
        indexes = None
        status = CHANNEL_ENABLED
    else:
        index = body.int("key_index", -1)
        if not 0 <= index < len(key_rows(channel)):
            raise BadRequest("key_index is out of range")
        indexes = [index]
        status = CHANNEL_ENABLED if action == "enable_key" else CHANNEL_MANUALLY_DISABLED
    change = await store.set_key_status(channel.id, indexes, status, "disabled by an admin")
    if change is None:
        raise NotFound("channel not found")
    await _follow_channel_status(channel.id, change.enabled)
    await app_state().changed(CHANNELS)
    await audit(
        "channel.keys",
        f"{action} on channel {channel.id}",
        {"id": channel.id, "action": action, "keys": list(change.changed)},
    )
    return ok(message=f"{len(change.changed)} key(s) changed")


async def _follow_channel_status(channel_id: int, enabled: int) -> None:
    """No enabled key: the channel is out of routing; one again: an auto-disabled one is back."""
    query = Channel.filter(id=channel_id)
    if enabled == 0:
        await store.change_status(
            query.filter(status=CHANNEL_ENABLED), CHANNEL_AUTO_DISABLED, "every key is disabled"
        )
    else:
        await store.change_status(
            query.filter(status=CHANNEL_AUTO_DISABLED), CHANNEL_ENABLED, "a key was enabled again"
        )
