"""``/api/redemption`` (admin): redemption codes; and ``POST /api/user/topup``, redeeming one."""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, request

from newapi.admin.audit import audit
from newapi.admin.respond import Body, ok, page, page_request, path_id, read_body
from newapi.auth.guards import admin_required, current_user, user_required
from newapi.auth.ratelimit import client_ip, enforce_search_limit
from newapi.errors import BadRequest, NotFound
from newapi.models import Redemption
from newapi.models.log import LOG_TOPUP
from newapi.models.redemption import REDEMPTION_DISABLED, REDEMPTION_ENABLED
from newapi.params import POSITIVE
from newapi.state import app_state
from newapi.store import logs
from newapi.store import redemptions as store
from newapi.store.users import MAX_ID, MAX_QUOTA

bp = Blueprint("redemptions", __name__, url_prefix="/api")

MAX_NAME = 20
MAX_COUNT = 100
MAX_KEY = 128


def _name(body: Body) -> str:
    name = body.str("name").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise BadRequest(f"name must be 1 to {MAX_NAME} characters")
    return name


def _quota(body: Body) -> int:
    quota = body.int("quota")
    if not 0 < quota <= MAX_QUOTA:
        raise BadRequest(f"quota must be between 1 and {MAX_QUOTA}")
    return quota


def _expired_time(body: Body) -> int:
    expired = body.int("expired_time", 0)
    if expired != 0 and expired < int(time.time()):
        raise BadRequest("expired_time must be 0 (never) or a unix time in the future")
    return expired


def _count(body: Body) -> int:
    count = body.int("count", 1)
    if not 1 <= count <= MAX_COUNT:
        raise BadRequest(f"count must be between 1 and {MAX_COUNT}")
    return count


async def _code(code_id: int) -> Redemption:
    code = await store.live(id=code_id).first() if 0 < code_id <= MAX_ID else None
    if code is None:
        raise NotFound(f"redemption code {code_id} not found")
    return code


@bp.get("/redemption/")
@admin_required
async def list_redemptions() -> Response:
    req = page_request()
    query = store.live()
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([store.redemption_json(r) for r in rows], total, req)


@bp.get("/redemption/search")
@admin_required
async def search_redemptions() -> Response:
    await enforce_search_limit()
    req = page_request()
    keyword = request.args.get("keyword", "").strip()
    query = store.search(keyword, request.args.get("status", "").strip())
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([store.redemption_json(r) for r in rows], total, req)


@bp.get("/redemption/<raw_id>")
@admin_required
async def get_redemption(raw_id: str) -> Response:
    code_id = path_id("id", raw_id)
    return ok(store.redemption_json(await _code(code_id)))


@bp.post("/redemption/")
@admin_required
async def create_redemptions() -> Response:
    body = await read_body()
    name, quota = _name(body), _quota(body)
    expired, count = _expired_time(body), _count(body)
    keys = await store.create_many(current_user().id, name, quota, expired, count)
    await audit(
        "redemption.create",
        f"created {count} redemption codes named {name!r} ({quota} quota each)",
        {"name": name, "count": count, "quota": quota, "expired_time": expired},
    )
    return ok(keys)


def _edits(body: Body) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = _name(body)
    if "quota" in body:
        values["quota"] = _quota(body)
    if "expired_time" in body:
        values["expired_time"] = _expired_time(body)
    return values


def _status(body: Body) -> int:
    status = body.int("status")
    if status not in (REDEMPTION_ENABLED, REDEMPTION_DISABLED):
        raise BadRequest("status must be 1 (enabled) or 2 (disabled)")
    return status


@bp.put("/redemption/")
@admin_required
async def update_redemption() -> Response:
    body = await read_body()
    if "id" not in body:
        raise BadRequest("id is required")
    code = await _code(body.int("id", bounds=POSITIVE))
    status_only = request.args.get("status_only", "") not in ("", "0", "false")
    values = {} if status_only else _edits(body)
    if status_only or "status" in body:
        values["status"] = _status(body)
    if "status" in values:
        await store.set_status(code.id, values["status"])
    rest = {k: v for k, v in values.items() if k != "status"}
    if rest:
        await store.live(id=code.id).update(**rest)
    await audit(
        "redemption.update",
        f"edited redemption code {code.id} ({', '.join(sorted(values)) or 'nothing'})",
        {"id": code.id, **values},
    )
    return ok(store.redemption_json(await _code(code.id)))


@bp.delete("/redemption/invalid")
@admin_required
async def delete_invalid_redemptions() -> Response:
    count = await store.delete_invalid()
    await audit(
        "redemption.delete_invalid",
        f"deleted {count} used, disabled or expired redemption codes",
        {"count": count},
    )
    return ok(count)


@bp.delete("/redemption/<raw_id>")
@admin_required
async def delete_redemption(raw_id: str) -> Response:
    code_id = path_id("id", raw_id)
    if not (0 < code_id <= MAX_ID and await store.soft_delete(code_id)):
        raise NotFound(f"redemption code {code_id} not found")
    await audit("redemption.delete", f"deleted redemption code {code_id}", {"id": code_id})
    return ok()


@bp.post("/user/topup")
@user_required
async def redeem() -> Response:
    """Redeem a code for the caller: ``data`` is the quota added."""
    user = current_user()
    key = (await read_body()).str("key").strip()
    if not key:
        raise BadRequest("enter a redemption code")
    if len(key) > MAX_KEY:
        raise BadRequest("invalid redemption code")
    code = await store.redeem(key, user.id)
    await app_state().entities.invalidate(user_ids=(user.id,))
    quota = code.quota or 0
    await logs.record(
        LOG_TOPUP,
        user_id=user.id,
        username=user.username,
        content=f"redeemed code {code.id}: {quota} quota added",
        quota=quota,
        ip=client_ip(),
        other={"admin_info": {"caller_ip": client_ip(), "payment_method": "redemption"}},
    )
    return ok(quota)
