"""Channel helpers of new-api's console: copy a channel, fetch a provider's model list.

- ``POST /api/channel/copy/:id?suffix=_copy&reset_balance=true``: a new channel with the same
  settings and keys, named ``<name><suffix>``; usage counters, test results and (unless
  ``reset_balance=false``) the balance start at zero. Answers ``{id}``.
- ``GET /api/channel/fetch_models/:id`` and ``POST /api/channel/fetch_models`` ``{base_url,
  type, key}``: the model ids the provider lists (``GET /v1/models`` through the channel type's
  adaptor), to fill a channel's models. Azure lists deployments elsewhere: refused with a
  message. Upstream errors come back with the channel's keys redacted.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import orjson
from quart import Blueprint, Response, request

from newapi.adaptors.registry import adaptor_for, not_served_reason, served
from newapi.admin.audit import audit
from newapi.admin.respond import ok, path_id, read_body
from newapi.auth.guards import admin_required
from newapi.errors import BadRequest, NotFound
from newapi.models import Channel
from newapi.relay.upstream import failure_from, redact
from newapi.routing.index import ChannelSnapshot
from newapi.state import CHANNELS, app_state
from newapi.store import abilities
from newapi.store import channels as store

bp = Blueprint("channel_tools", __name__, url_prefix="/api")

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20)
# Columns a copy starts afresh (new-api resets the same ones).
_RESET = {"id", "created_time", "test_time", "response_time", "used_quota", "balance_updated_time"}


@bp.post("/channel/copy/<raw_id>")
@admin_required
async def copy_channel(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    source = await Channel.filter(id=channel_id).first()
    if source is None:
        raise NotFound("channel not found")
    if not served(source.type or 0):
        raise BadRequest(f"cannot copy: {not_served_reason(source.type or 0)}")
    suffix = request.args.get("suffix", "_copy")
    reset_balance = request.args.get("reset_balance", "true").lower() != "false"
    values: dict[str, Any] = {
        name: getattr(source, name)
        for name in source._meta.fields_map
        if name not in _RESET and not source._meta.fields_map[name].pk
    }
    values["name"] = f"{source.name or ''}{suffix}"[:255]
    if reset_balance:
        values["balance"] = 0
    async with store.transaction() as conn:
        copy = await Channel.create(using_db=conn, created_time=int(time.time()), **values)
        await abilities.rebuild(conn, [copy])
    await app_state().changed(CHANNELS)
    await audit("channel.copy", f"copied channel {channel_id}", {"from": channel_id, "id": copy.id})
    return ok({"id": copy.id})


@bp.get("/channel/fetch_models/<raw_id>")
@admin_required
async def fetch_models_of(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    channel = await Channel.filter(id=channel_id).first()
    if channel is None:
        raise NotFound("channel not found")
    return ok(await _fetch(store.snapshot(channel)))


@bp.post("/channel/fetch_models")
@admin_required
async def fetch_models() -> Response:
    body = await read_body()
    key = body.str("key").strip()
    if not key:
        raise BadRequest("key is required")
    probe = ChannelSnapshot(
        id=0,
        type=body.int("type", 1),
        name="",
        status=1,
        groups=(),
        models=(),
        key=key,
        base_url=body.str("base_url").strip().rstrip("/"),
    )
    return ok(await _fetch(probe))


async def _fetch(channel: ChannelSnapshot) -> list[str]:
    adaptor = adaptor_for(channel.type)
    if adaptor is None:
        raise BadRequest(f"channel type {channel.type} is not supported")
    target = adaptor.models_request(channel)
    if target is None:
        raise BadRequest(
            "this channel type has no model list to fetch with its key "
            "(Azure lists deployments, Vertex AI publisher models)"
        )
    try:
        async with app_state().http.get(
            target.url, headers=target.headers, proxy=target.proxy, timeout=FETCH_TIMEOUT
        ) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise BadRequest(f"the upstream could not be reached ({type(exc).__name__})") from None
    if status >= 400:
        failure = failure_from(status, raw, channel)
        raise BadRequest(f"the upstream refused: {failure.message}")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("models"), list):  # Gemini's list shape
        names = [m.get("name") for m in body["models"] if isinstance(m, dict)]
        return sorted({n.removeprefix("models/") for n in names if isinstance(n, str) and n})
    listed = body.get("data") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        raise BadRequest(redact("the upstream answered without a model list", channel))
    return sorted({str(m["id"]) for m in listed if isinstance(m, dict) and m.get("id")})
