"""``/api/token``: a user's own API keys. Lists mask keys; ``POST /:id/key`` reveals one."""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, request
from tortoise.transactions import in_transaction

from newapi.admin.respond import Body, ok, page, page_request, path_id, read_body
from newapi.auth.guards import current_user, user_required
from newapi.auth.ratelimit import enforce_search_limit
from newapi.db.connection import MAIN_CONNECTION
from newapi.errors import BadRequest, NotFound
from newapi.models import Token
from newapi.models.token import TOKEN_DISABLED, TOKEN_ENABLED, TOKEN_EXHAUSTED, TOKEN_EXPIRED
from newapi.params import POSITIVE
from newapi.state import app_state
from newapi.store import tokens as store
from newapi.store.common import deleted_now

bp = Blueprint("tokens", __name__, url_prefix="/api/token")

MAX_NAME = 50
_STATUSES = (TOKEN_ENABLED, TOKEN_DISABLED, TOKEN_EXPIRED, TOKEN_EXHAUSTED)


async def _own(token_id: int) -> Token:
    token = await store.live(id=token_id, user_id=current_user().id).first()
    if token is None:
        raise NotFound("token not found")
    return token


async def _invalidate(*keys: str) -> None:
    await app_state().entities.invalidate(token_keys=tuple(k for k in keys if k))


def _fields(body: Body, *, creating: bool) -> dict[str, Any]:
    """The editable fields present in ``body``, validated."""
    values: dict[str, Any] = {}
    if creating or "name" in body:
        values["name"] = body.str("name", max_len=MAX_NAME).strip()
    if creating or "expired_time" in body:
        expired = body.int("expired_time", -1)
        if expired != -1 and expired < 0:
            raise BadRequest("expired_time must be -1 (never) or a unix time")
        values["expired_time"] = expired
    if creating or "remain_quota" in body:
        remain = body.int("remain_quota", 0)
        if remain < 0:
            raise BadRequest("remain_quota must not be negative")
        values["remain_quota"] = remain
    for flag_name in ("unlimited_quota", "model_limits_enabled", "cross_group_retry"):
        if creating or flag_name in body:
            values[flag_name] = body.bool(flag_name)
    if creating or "model_limits" in body:
        values["model_limits"] = body.str("model_limits").strip()
    if creating or "allow_ips" in body:
        values["allow_ips"] = body.str("allow_ips", max_len=191).strip()
    if creating or "group" in body:
        values["group"] = _check_group(body.str("group").strip())
    return values


def _check_group(group: str) -> str:
    if not group:
        return ""
    usable = app_state().options.current.json("UserUsableGroups") or {}
    if group != "auto" and group not in usable and group != (current_user().group or "default"):
        raise BadRequest(f"group {group!r} is not available to this user")
    return group


@bp.get("/")
@user_required
async def list_tokens() -> Response:
    req = page_request()
    query = store.live(user_id=current_user().id)
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([store.token_json(t) for t in rows], total, req)


@bp.get("/search")
@user_required
async def search_tokens() -> Response:
    await enforce_search_limit()
    req = page_request()
    keyword = request.args.get("keyword", "").strip()
    key = store.normalize_key(request.args.get("token", ""))
    query = store.live(user_id=current_user().id)
    if keyword:
        query = query.filter(name__icontains=keyword)
    if key:
        query = query.filter(key__contains=key)
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([store.token_json(t) for t in rows], total, req)


@bp.get("/<raw_id>")
@user_required
async def get_token(raw_id: str) -> Response:
    token_id = path_id("id", raw_id)
    return ok(store.token_json(await _own(token_id)))


@bp.post("/<raw_id>/key")
@user_required
async def reveal_key(raw_id: str) -> Response:
    token_id = path_id("id", raw_id)
    token = await _own(token_id)
    return ok({"key": token.key})


@bp.post("/batch/keys")
@user_required
async def reveal_keys() -> Response:
    ids = (await read_body()).int_list("ids")
    rows = await store.live(user_id=current_user().id, id__in=ids)
    return ok({"keys": {str(t.id): t.key for t in rows}})


@bp.post("/")
@user_required
async def create_token() -> Response:
    user = current_user()
    values = _fields(await read_body(), creating=True)
    limit = app_state().options.current.int("token_setting.max_user_tokens")
    if limit > 0 and await store.live(user_id=user.id).count() >= limit:
        raise BadRequest(f"a user may hold at most {limit} tokens")
    now = int(time.time())
    token = await Token.create(
        user_id=user.id,
        key=store.new_key(),
        status=TOKEN_ENABLED,
        created_time=now,
        accessed_time=now,
        used_quota=0,
        **values,
    )
    return ok(store.token_json(token, reveal=True))


@bp.put("/")
@user_required
async def update_token() -> Response:
    body = await read_body()
    token_id = body.int("id", bounds=POSITIVE)
    status_only = request.args.get("status_only", "") not in ("", "0", "false")
    if not status_only and "remain_quota" in body:
        # An absolute remain_quota must not have this node's unflushed usage subtracted after it.
        await app_state().writer.flush()
    async with in_transaction(MAIN_CONNECTION):
        token = await store.live(id=token_id, user_id=current_user().id).select_for_update().first()
        if token is None:
            raise NotFound("token not found")
        values = {} if status_only else _fields(body, creating=False)
        if "status" in body:
            status = body.int("status")
            if status not in _STATUSES:
                raise BadRequest("status must be 1 (enabled) or 2 (disabled)")
            values["status"] = status
        for name, value in values.items():
            setattr(token, name, value)
        if token.status == TOKEN_ENABLED and "status" in values:
            if store.is_expired(token):
                raise BadRequest("the token has expired: change its expiry before enabling it")
            if not token.unlimited_quota and (token.remain_quota or 0) <= 0:
                raise BadRequest("the token's quota is used up: raise it before enabling it")
        if values:
            await Token.filter(id=token.id).update(**values)
    await _invalidate(token.key)
    return ok(store.token_json(token))


@bp.delete("/<raw_id>")
@user_required
async def delete_token(raw_id: str) -> Response:
    token_id = path_id("id", raw_id)
    token = await _own(token_id)
    await Token.filter(id=token.id).update(deleted_at=deleted_now())
    await _invalidate(token.key)
    return ok()


@bp.post("/batch")
@user_required
async def delete_tokens() -> Response:
    ids = (await read_body()).int_list("ids")
    if not ids:
        raise BadRequest("ids must not be empty")
    rows = await store.live(user_id=current_user().id, id__in=ids)
    if rows:
        await Token.filter(id__in=[t.id for t in rows]).update(deleted_at=deleted_now())
        await _invalidate(*(t.key for t in rows))
    return ok(len(rows))
