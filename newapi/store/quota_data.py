"""Reading ``quota_data``: the hourly usage buckets behind the dashboard charts.

Rows are summed per bucket key, because one (user, model, hour) may hold several rows: new-api
has no unique constraint there, and newer versions split buckets further (token, channel, node).
"""

from __future__ import annotations

from typing import Any

from tortoise.functions import Sum

from newapi.models import QuotaData

# (key fields, the JSON fields they fill)
BY_MODEL = ("model_name", "created_at")
BY_USER_MODEL = ("user_id", "username", "model_name", "created_at")
BY_USER = ("username", "created_at")

_SUMS = {"sum_token_used": "token_used", "sum_count": "count", "sum_quota": "quota"}


def quota_data_json(row: dict[str, Any]) -> dict[str, Any]:
    """new-api's QuotaData JSON; summed rows have no single id, so ``id`` is 0."""
    return {
        "id": 0,
        "user_id": int(row.get("user_id") or 0),
        "username": row.get("username") or "",
        "model_name": row.get("model_name") or "",
        "created_at": int(row.get("created_at") or 0),
        "token_used": int(row.get("sum_token_used") or 0),
        "count": int(row.get("sum_count") or 0),
        "quota": int(row.get("sum_quota") or 0),
    }


async def summed(
    start: int, end: int, group_by: tuple[str, ...], **filters: Any
) -> list[dict[str, Any]]:
    """Buckets with ``start <= created_at <= end``, summed per ``group_by``, oldest first."""
    query = QuotaData.filter(created_at__gte=start, created_at__lte=end, **filters)
    rows = (
        await query.annotate(**{alias: Sum(column) for alias, column in _SUMS.items()})
        .group_by(*group_by)
        .order_by("created_at", *(key for key in group_by if key != "created_at"))
        .values(*group_by, *_SUMS)
    )
    return [quota_data_json(row) for row in rows]
