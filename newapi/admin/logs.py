"""``/api/log``: usage and audit logs - every row for admins, a stripped own view for users."""

from __future__ import annotations

from quart import Blueprint, Response, request

from newapi.admin.respond import int_arg, json_response, ok, page, page_request
from newapi.auth.guards import admin_required, current_user, root_required, user_required
from newapi.errors import BadRequest
from newapi.store import log_queries as store
from newapi.store.log_queries import LogFilter

bp = Blueprint("logs", __name__, url_prefix="/api")

MAX_FILTER_LEN = 191


def _text(name: str) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_FILTER_LEN:
        raise BadRequest(f"query parameter {name} is too long")
    return value


def _log_filter(*, admin: bool) -> LogFilter:
    """The filters of the query string; ``username`` and ``channel`` only for admins."""
    start, end = int_arg("start_timestamp"), int_arg("end_timestamp")
    if start and end and start > end:
        raise BadRequest("start_timestamp must not be after end_timestamp")
    return LogFilter(
        log_type=int_arg("type"),
        start=start,
        end=end,
        user_id=0 if admin else current_user().id,
        username=_text("username") if admin else "",
        token_name=_text("token_name"),
        model_name=_text("model_name"),
        channel=int_arg("channel") if admin else 0,
        group=_text("group"),
        request_id=_text("request_id"),
        upstream_request_id=_text("upstream_request_id"),
    )


@bp.get("/log/")
@admin_required
async def all_logs() -> Response:
    req = page_request()
    rows, total = await store.page(_log_filter(admin=True), req.offset, req.size)
    names = await store.channel_names(rows)
    items = [store.log_json(row, names.get(row.channel_id or 0, "")) for row in rows]
    return page(items, total, req)


@bp.get("/log/self")
@user_required
async def own_logs() -> Response:
    req = page_request()
    rows, total = await store.page(_log_filter(admin=False), req.offset, req.size)
    items = [store.user_log_json(row, req.offset + index + 1) for index, row in enumerate(rows)]
    return page(items, total, req)


@bp.get("/log/stat")
@admin_required
async def all_stat() -> Response:
    return ok(await store.stat(_log_filter(admin=True)))


@bp.get("/log/self/stat")
@user_required
async def own_stat() -> Response:
    return ok(await store.stat(_log_filter(admin=False)))


@bp.delete("/log/")
@root_required
async def delete_old_logs() -> Response:
    target = int_arg("target_timestamp")
    if target <= 0:
        raise BadRequest("target_timestamp is required (a unix time; older rows are deleted)")
    return ok(await store.delete_before(target))


def _deprecated() -> Response:
    return json_response({"success": False, "message": "this endpoint is deprecated"})


@bp.get("/log/search")
@admin_required
async def search_all_logs() -> Response:
    return _deprecated()


@bp.get("/log/self/search")
@user_required
async def search_own_logs() -> Response:
    return _deprecated()
