"""``/api/data``: the dashboard's hourly usage series from ``quota_data``."""

from __future__ import annotations

from quart import Blueprint, Response, request

from newapi.admin.respond import int_arg, ok
from newapi.auth.guards import admin_required, current_user, user_required
from newapi.errors import BadRequest
from newapi.store import quota_data as store

bp = Blueprint("data", __name__, url_prefix="/api")

SELF_MAX_SPAN = 30 * 24 * 3600  # new-api: "the span cannot exceed one month"


def _range() -> tuple[int, int]:
    for name in ("start_timestamp", "end_timestamp"):
        if not request.args.get(name, "").strip():
            raise BadRequest(f"query parameter {name} is required (a unix time)")
    start, end = int_arg("start_timestamp"), int_arg("end_timestamp")
    if start > end:
        raise BadRequest("start_timestamp must not be after end_timestamp")
    return start, end


@bp.get("/data/")
@admin_required
async def all_data() -> Response:
    """Summed per (model, hour); per (user, model, hour) for one ``username``."""
    start, end = _range()
    username = request.args.get("username", "").strip()
    if username:
        return ok(await store.summed(start, end, store.BY_USER_MODEL, username=username))
    return ok(await store.summed(start, end, store.BY_MODEL))


@bp.get("/data/users")
@admin_required
async def data_by_user() -> Response:
    start, end = _range()
    return ok(await store.summed(start, end, store.BY_USER))


@bp.get("/data/self")
@user_required
async def own_data() -> Response:
    start, end = _range()
    if end - start > SELF_MAX_SPAN:
        raise BadRequest("the time span must not exceed 30 days")
    user = current_user()
    rows = await store.summed(start, end, store.BY_MODEL, user_id=user.id)
    for row in rows:
        row["user_id"], row["username"] = user.id, user.username
    return ok(rows)
