"""``abilities``: new-api's derived routing table, one row per (group, model) of a channel.

The table has a composite primary key (group, model, channel_id), which Tortoise cannot model,
so the statements are built with the connection's own pypika query class: it quotes ``group``
and ``model`` (reserved words) the way each database wants and binds every value as a
parameter. Every function takes the connection of the caller's transaction, so the rows always
change together with the channel write that caused them.

newapi routes from the in-memory index (:mod:`newapi.routing.index`); the table is kept exact
so that new-api nodes sharing the database, and tools reading it, see the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from typing import TypeVar

from pypika_tortoise import Table
from tortoise.backends.base.client import BaseDBAsyncClient

from newapi.models import Channel
from newapi.models.channel import CHANNEL_ENABLED
from newapi.routing.index import split_list

T = TypeVar("T")
COLUMNS = ("group", "model", "channel_id", "enabled", "priority", "weight", "tag")
_TABLE = Table("abilities")
_ROWS_PER_INSERT = 100  # 700 parameters: under SQLite's oldest limit of 999
_IDS_PER_STATEMENT = 500


@dataclass(frozen=True, slots=True)
class AbilityRow:
    group: str
    model: str
    channel_id: int
    enabled: bool
    priority: int
    weight: int
    tag: str | None


def rows_for(channel: Channel) -> list[AbilityRow]:
    """One row per (group x model) of ``channel``; names trimmed, empties and repeats dropped."""
    enabled = channel.status == CHANNEL_ENABLED
    priority = channel.priority or 0
    weight = max(channel.weight or 0, 0)
    return [
        AbilityRow(group, model, channel.id, enabled, priority, weight, channel.tag)
        for group in split_list(channel.group)
        for model in split_list(channel.models)
    ]


async def rebuild(conn: BaseDBAsyncClient, channels: Sequence[Channel]) -> int:
    """Replace the rows of ``channels``: delete theirs, insert fresh ones. Returns rows written."""
    await delete_for(conn, [c.id for c in channels])
    return await _insert(conn, [row for channel in channels for row in rows_for(channel)])


async def rebuild_all(conn: BaseDBAsyncClient) -> int:
    """Rebuild the whole table from ``channels`` (``POST /api/channel/fix``)."""
    sql, params = conn.query_class.from_(_TABLE).delete().get_parameterized_sql()
    await conn.execute_query(sql, params)
    channels = await Channel.all().using_db(conn)
    return await _insert(conn, [row for channel in channels for row in rows_for(channel)])


async def delete_for(conn: BaseDBAsyncClient, channel_ids: Iterable[int]) -> None:
    for chunk in _chunks(list(channel_ids), _IDS_PER_STATEMENT):
        query = conn.query_class.from_(_TABLE).where(_TABLE.channel_id.isin(chunk)).delete()
        sql, params = query.get_parameterized_sql()
        await conn.execute_query(sql, params)


async def set_enabled(conn: BaseDBAsyncClient, channel_ids: Iterable[int], enabled: bool) -> None:
    for chunk in _chunks(list(channel_ids), _IDS_PER_STATEMENT):
        query = (
            conn.query_class.update(_TABLE)
            .set(_TABLE.enabled, enabled)
            .where(_TABLE.channel_id.isin(chunk))
        )
        sql, params = query.get_parameterized_sql()
        await conn.execute_query(sql, params)


async def _insert(conn: BaseDBAsyncClient, rows: list[AbilityRow]) -> int:
    for chunk in _chunks(rows, _ROWS_PER_INSERT):
        query = conn.query_class.into(_TABLE).columns(*COLUMNS)
        for row in chunk:
            query = query.insert(*astuple(row))
        sql, params = query.get_parameterized_sql()
        await conn.execute_query(sql, params)
    return len(rows)


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
