"""Channel queries, the admin JSON shape, and the in-memory channel cache.

The cache (:class:`ChannelCache`, on ``AppState.channels``) holds every channel, keys included,
and the routing index built from them. It is rebuilt at start, every ``SYNC_FREQUENCY`` seconds
and right after each channel write on this node; other nodes catch up on their next sync
(reference: admin §10).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson
from tortoise.backends.base.client import TransactionContext
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from newapi.adaptors.registry import served
from newapi.models import Channel
from newapi.models.channel import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED
from newapi.routing.index import ChannelSnapshot, RoutingIndex, split_list
from newapi.store import abilities

log = logging.getLogger(__name__)

SORT_COLUMNS = ("id", "name", "priority", "balance", "response_time", "test_time")
_DEFAULT_CHANNEL_INFO: Mapping[str, Any] = MappingProxyType(
    {
        "is_multi_key": False,
        "multi_key_size": 0,
        "multi_key_status_list": None,
        "multi_key_polling_index": 0,
        "multi_key_mode": "",
    }
)


def transaction() -> TransactionContext:
    """A transaction on the channels' own database connection."""
    return in_transaction(Channel._meta.default_connection)


def json_object(text: str | None) -> dict[str, Any]:
    """A JSON-object column as a dict; empty, invalid or non-object text reads as ``{}``."""
    if not text or not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def channel_info(channel: Channel) -> dict[str, Any]:
    return {**_DEFAULT_CHANNEL_INFO, **json_object(channel.channel_info)}


def channel_json(channel: Channel) -> dict[str, Any]:
    """new-api's Channel JSON without ``key`` (and without multi-key disable details)."""
    info = channel_info(channel)
    if info.get("is_multi_key"):
        info.pop("multi_key_disabled_reason", None)
        info.pop("multi_key_disabled_time", None)
    return {
        "id": channel.id,
        "type": channel.type or 0,
        "openai_organization": channel.openai_organization,
        "test_model": channel.test_model,
        "status": channel.status or 0,
        "name": channel.name or "",
        "weight": channel.weight,
        "created_time": channel.created_time or 0,
        "test_time": channel.test_time or 0,
        "response_time": channel.response_time or 0,
        "base_url": channel.base_url,
        "other": channel.other or "",
        "balance": channel.balance or 0,
        "balance_updated_time": channel.balance_updated_time or 0,
        "models": channel.models or "",
        "group": channel.group or "",
        "used_quota": channel.used_quota or 0,
        "model_mapping": channel.model_mapping,
        "status_code_mapping": channel.status_code_mapping,
        "priority": channel.priority,
        "auto_ban": channel.auto_ban,
        "other_info": channel.other_info or "",
        "tag": channel.tag,
        "served": served(channel.type or 0),  # read-only: False for an adopted unserved type
        "setting": channel.setting,
        "param_override": channel.param_override,
        "header_override": channel.header_override,
        "remark": channel.remark,
        "channel_info": info,
        "settings": channel.settings or "",
    }


def snapshot(channel: Channel) -> ChannelSnapshot:
    """The relay's immutable view of one channel row (key included, JSON columns parsed)."""
    return ChannelSnapshot(
        id=channel.id,
        type=channel.type or 0,
        name=channel.name or "",
        status=channel.status or 0,
        groups=split_list(channel.group),
        models=split_list(channel.models),
        priority=channel.priority or 0,
        weight=channel.weight or 0,
        key=channel.key or "",
        tag=channel.tag or None,
        base_url=channel.base_url or "",
        other=channel.other or "",
        openai_organization=channel.openai_organization or "",
        test_model=channel.test_model or "",
        auto_ban=channel.auto_ban != 0,
        model_mapping=_frozen(channel.model_mapping),
        status_code_mapping=_frozen(channel.status_code_mapping),
        param_override=_frozen(channel.param_override),
        header_override=_frozen(channel.header_override),
        setting=_frozen(channel.setting),
        settings=_frozen(channel.settings),
        channel_info=MappingProxyType(channel_info(channel)),
        served=served(channel.type or 0),
    )


def _frozen(text: str | None) -> Mapping[str, Any]:
    return MappingProxyType(json_object(text))


class ChannelCache:
    """Every channel in memory plus the routing index, swapped whole on each refresh."""

    def __init__(self) -> None:
        self.index = RoutingIndex.empty()
        self.refreshed_at = 0.0
        self._lock = asyncio.Lock()
        # Attempts per polling multi-key channel: kept across refreshes (per process).
        self._turns: dict[int, int] = {}

    def next_turn(self, channel_id: int) -> int:
        """This channel's attempt number in this process (round-robin over its keys)."""
        turn = self._turns.get(channel_id, 0)
        self._turns[channel_id] = turn + 1
        return turn

    async def refresh(self) -> RoutingIndex:
        # Serialised, so a slow earlier load can never overwrite a newer one.
        async with self._lock:
            channels = await Channel.all()
            self.index = RoutingIndex.build(snapshot(c) for c in channels)
            self.refreshed_at = time.time()
        return self.index

    async def refresh_after_write(self) -> None:
        """Refresh after a committed write; a failure only delays it to the next periodic sync."""
        try:
            await self.refresh()
        except (OperationalError, DBConnectionError) as error:
            log.warning(
                "channel cache refresh failed (%s); next sync retries", type(error).__name__
            )


async def change_status(query: QuerySet[Channel], status: int, reason: str) -> list[int]:
    """Set ``status`` (and abilities.enabled) on the channels of ``query`` that differ.

    Returns the ids changed; the caller refreshes the channel cache.
    """
    now = int(time.time())
    differs = Q(status__not=status) | Q(status__isnull=True)
    async with transaction() as conn:
        rows = await query.filter(differs).select_for_update().using_db(conn)
        for channel in rows:
            channel.status = status
            channel.other_info = status_note(channel.other_info, reason, now)
            await channel.save(using_db=conn, update_fields=["status", "other_info"])
        await abilities.set_enabled(conn, [c.id for c in rows], status == CHANNEL_ENABLED)
    return [c.id for c in rows]


KEY_NOTES = ("multi_key_disabled_reason", "multi_key_disabled_time")
KEY_ON = CHANNEL_ENABLED  # a key's status uses the channel statuses


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What a multi-key status change did: the keys changed and how many stay enabled."""

    changed: tuple[int, ...]
    size: int
    enabled: int
    info: dict[str, Any]


async def set_key_status(
    channel_id: int, indexes: Iterable[int] | None, status: int, reason: str
) -> KeyChange | None:
    """Set the status of keys ``indexes`` (None: every key) of a multi-key channel.

    Enabled keys lose their entry and notes; others record ``reason`` and the time. Row-locked,
    so concurrent changes of different keys are all kept. None when the channel is missing or
    not a multi-key channel; indexes out of range are ignored.
    """
    now = int(time.time())
    async with transaction() as conn:
        channel = await Channel.filter(id=channel_id).select_for_update().using_db(conn).first()
        if channel is None:
            return None
        info = channel_info(channel)
        if not info.get("is_multi_key"):
            return None
        size = len([line for line in (channel.key or "").splitlines() if line.strip()])
        raw = info.get("multi_key_status_list")
        statuses = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
        notes = {field: _notes(info.get(field)) for field in KEY_NOTES}
        wanted = range(size) if indexes is None else [i for i in indexes if 0 <= i < size]
        changed = []
        for index in wanted:
            key = str(index)
            if statuses.get(key, CHANNEL_ENABLED) == status:
                continue
            changed.append(index)
            if status == CHANNEL_ENABLED:
                statuses.pop(key, None)
                for field in KEY_NOTES:
                    notes[field].pop(key, None)
            else:
                statuses[key] = status
                notes["multi_key_disabled_reason"][key] = reason
                notes["multi_key_disabled_time"][key] = now
        if changed:
            info["multi_key_status_list"] = statuses or None
            info.update(notes)
            channel.channel_info = orjson.dumps(info).decode()
            await channel.save(using_db=conn, update_fields=["channel_info"])
    enabled = sum(
        1 for i in range(size) if statuses.get(str(i), CHANNEL_ENABLED) == CHANNEL_ENABLED
    )
    return KeyChange(tuple(changed), size, enabled, info)


def _notes(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


async def disable_channel_key(channel_id: int, key_index: int, reason: str) -> tuple[bool, bool]:
    """Mark key ``key_index`` of a multi-key channel auto-disabled: (changed, none left)."""
    change = await set_key_status(channel_id, [key_index], CHANNEL_AUTO_DISABLED, reason)
    if change is None or not change.changed:
        return False, False
    return True, change.enabled == 0


# Query helpers for the admin lists.


def group_filter(group: str) -> Q:
    """Channels whose comma-separated ``group`` contains ``group`` as a whole name."""
    return (
        Q(group=group)
        | Q(group__startswith=f"{group},")
        | Q(group__endswith=f",{group}")
        | Q(group__contains=f",{group},")
    )


def status_filter(raw: str) -> Q | None:
    """``enabled``/``1`` -> enabled only; ``disabled``/``0`` -> anything else; ``2``/``3`` exact."""
    value = raw.strip().lower()
    if value in ("", "all", "-1"):
        return None
    if value in ("enabled", "1"):
        return Q(status=CHANNEL_ENABLED)
    if value in ("disabled", "0"):
        return Q(status__not=CHANNEL_ENABLED) | Q(status__isnull=True)
    if value in ("2", "3"):
        return Q(status=int(value))
    return Q(id__in=[])  # an unknown status matches nothing


def ordering(sort_by: str, sort_order: str, id_sort: bool) -> tuple[str, ...]:
    """new-api's order: ``sort_by`` (desc unless ``asc``), else ``id desc`` or ``priority desc``."""
    column = sort_by.strip().lower()
    if column in SORT_COLUMNS:
        prefix = "" if sort_order.strip().lower() == "asc" else "-"
        return (f"{prefix}{column}",) if column == "id" else (f"{prefix}{column}", "-id")
    return ("-id",) if id_sort else ("-priority", "-id")


async def type_counts(query: QuerySet[Channel]) -> dict[str, int]:
    """``{"<type>": count}`` over ``query``."""
    rows = await query.annotate(count=Count("id")).group_by("type").values_list("type", "count")
    return {str(channel_type or 0): int(count) for channel_type, count in rows}


def status_note(other_info: str | None, reason: str, now: int) -> str:
    """``other_info`` with new-api's ``status_reason``/``status_time`` set."""
    info = json_object(other_info)
    info.update(status_reason=reason, status_time=now)
    return orjson.dumps(info).decode()


def split_keys(text: str) -> list[str]:
    """Newline-separated keys, trimmed, empties dropped (order kept, repeats kept out)."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def models_of(channels: Iterable[ChannelSnapshot]) -> set[str]:
    return {model for channel in channels for model in channel.models}


def keyword_filter(keyword: str) -> Q:
    """Search over id, name, base_url, tag and remark; never over ``key``."""
    match = (
        Q(name__icontains=keyword)
        | Q(base_url__icontains=keyword)
        | Q(tag__icontains=keyword)
        | Q(remark__icontains=keyword)
    )
    if keyword.isdigit() and len(keyword) <= 18:
        match |= Q(id=int(keyword))
    return match
