"""Reading the ``logs`` table: filtered pages, stats, the user-facing view and cleanup.

``logs`` may live on its own database (``LOG_SQL_DSN``), so nothing here joins it with another
table: channel names are looked up with one separate query per page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from newapi.models import Channel, Log
from newapi.models.log import LOG_CONSUME, LOG_UNKNOWN

# Keys of ``other`` that only administrators may see (new-api's formatUserLogs).
ADMIN_ONLY_OTHER_KEYS = ("admin_info", "audit_info", "stream_status")
STAT_WINDOW_SECONDS = 60
DELETE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The filters of ``GET /api/log/``; zero or empty means "any"."""

    log_type: int = LOG_UNKNOWN
    start: int = 0
    end: int = 0
    user_id: int = 0
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    group: str = ""
    request_id: str = ""
    upstream_request_id: str = ""


def _model_name_filter(pattern: str) -> dict[str, str]:
    """new-api matches model_name with SQL LIKE: honour a leading and/or trailing ``%``."""
    core = pattern.strip("%")
    if pattern.startswith("%") and pattern.endswith("%") and len(pattern) > 1:
        return {"model_name__contains": core}
    if pattern.endswith("%"):
        return {"model_name__startswith": core}
    if pattern.startswith("%"):
        return {"model_name__endswith": core}
    return {"model_name": pattern}


def _identity_filters(f: LogFilter) -> dict[str, Any]:
    """Every filter except the type and the time range."""
    values: dict[str, Any] = {
        "user_id": f.user_id,
        "username": f.username,
        "token_name": f.token_name,
        "channel_id": f.channel,
        "group": f.group,
        "request_id": f.request_id,
        "upstream_request_id": f.upstream_request_id,
    }
    filters = {name: value for name, value in values.items() if value}
    if f.model_name:
        filters.update(_model_name_filter(f.model_name))
    return filters


def filtered(f: LogFilter) -> QuerySet[Log]:
    query = Log.filter(**_identity_filters(f))
    if f.log_type != LOG_UNKNOWN:
        query = query.filter(type=f.log_type)
    if f.start:
        query = query.filter(created_at__gte=f.start)
    if f.end:
        query = query.filter(created_at__lte=f.end)
    return query


async def page(f: LogFilter, offset: int, limit: int) -> tuple[list[Log], int]:
    """One page, newest first (created_at desc, then id desc), and the total count."""
    query = filtered(f)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return rows, total


async def channel_names(rows: list[Log]) -> dict[int, str]:
    """Names of the channels the rows mention, in one query on the main database."""
    ids = {row.channel_id for row in rows if row.channel_id}
    if not ids:
        return {}
    pairs = await Channel.filter(id__in=ids).values_list("id", "name")
    return {int(channel_id): name or "" for channel_id, name in pairs}


def log_json(log: Log, channel_name: str = "") -> dict[str, Any]:
    """new-api's Log JSON: the channel id under ``channel``; ``other`` stays a JSON string."""
    return {
        "id": log.id,
        "user_id": log.user_id or 0,
        "created_at": log.created_at or 0,
        "type": log.type or 0,
        "content": log.content or "",
        "username": log.username or "",
        "token_name": log.token_name or "",
        "model_name": log.model_name or "",
        "quota": log.quota or 0,
        "prompt_tokens": log.prompt_tokens or 0,
        "completion_tokens": log.completion_tokens or 0,
        "use_time": log.use_time or 0,
        "is_stream": bool(log.is_stream),
        "channel": log.channel_id or 0,
        "channel_name": channel_name,
        "token_id": log.token_id or 0,
        "group": log.group or "",
        "ip": log.ip or "",
        "request_id": log.request_id or "",
        "upstream_request_id": log.upstream_request_id or "",
        "other": log.other or "",
    }


def strip_other(other: str | None) -> str:
    """``other`` without its admin-only keys; text that is not a JSON object is dropped."""
    if not other:
        return ""
    try:
        parsed = orjson.loads(other)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    for key in ADMIN_ONLY_OTHER_KEYS:
        parsed.pop(key, None)
    return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS).decode()


def user_log_json(log: Log, row_number: int) -> dict[str, Any]:
    """The user's view: ``id`` is a running row number, no channel name, no admin-only keys."""
    data = log_json(log)
    data["id"] = row_number
    data["other"] = strip_other(log.other)
    return data


async def _sum(query: QuerySet[Log], **aggregates: Any) -> dict[str, int]:
    row = await query.annotate(**aggregates).first().values(*aggregates)
    return {name: int((row or {}).get(name) or 0) for name in aggregates}


async def stat(f: LogFilter, now: int | None = None) -> dict[str, int]:
    """``{quota, rpm, tpm}``: quota over the filter's consume rows; rpm/tpm over the last 60 s.

    As in new-api, the log type filter is ignored (only consume rows count) and the time range
    applies to quota only.
    """
    now = int(time.time()) if now is None else now
    consume = Log.filter(**_identity_filters(f), type=LOG_CONSUME)
    in_range = consume
    if f.start:
        in_range = in_range.filter(created_at__gte=f.start)
    if f.end:
        in_range = in_range.filter(created_at__lte=f.end)
    quota = await _sum(in_range, quota=Sum("quota"))
    recent = await _sum(
        consume.filter(created_at__gte=now - STAT_WINDOW_SECONDS),
        rpm=Count("id"),
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
    )
    return {
        "quota": quota["quota"],
        "rpm": recent["rpm"],
        "tpm": recent["prompt"] + recent["completion"],
    }


async def delete_before(target: int) -> int:
    """Delete rows with ``created_at < target`` in batches (short locks); return how many."""
    total = 0
    while True:
        ids = (
            await Log.filter(created_at__lt=target).limit(DELETE_BATCH).values_list("id", flat=True)
        )
        if not ids:
            return total
        total += await Log.filter(id__in=list(ids)).delete()
        if len(ids) < DELETE_BATCH:
            return total
