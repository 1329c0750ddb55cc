"""Usage writes, batched off the request path.

The relay hands each finished request to :meth:`UsageWriter.add` (memory only, no await); a
background task flushes every ``interval`` seconds: token, user and channel counters as atomic
increments, consume logs in one bulk insert, and hourly ``quota_data`` buckets. A failed flush
keeps its batch for the next one, so nothing is lost or written twice. ``pending_*`` tell the
ledger how much this process consumed that the database does not show yet.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import BaseORMException
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from newapi.db.connection import MAIN_CONNECTION
from newapi.models import Channel, Log, QuotaData, Token, User

log = logging.getLogger(__name__)

BucketKey = tuple[int, str, str, int]  # user_id, username, model_name, hour


@dataclass(slots=True)
class Consumption:
    user_id: int
    username: str
    token_id: int
    channel_id: int
    model_name: str
    quota: int
    tokens: int
    log: dict[str, Any] | None  # Log columns, or None when consume logs are off
    export: bool = True  # count it in quota_data


@dataclass(slots=True)
class _Batch:
    tokens: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    users: defaultdict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    channels: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    logs: list[dict[str, Any]] = field(default_factory=list)
    buckets: defaultdict[BucketKey, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )

    def __bool__(self) -> bool:
        return bool(self.tokens or self.users or self.channels or self.logs or self.buckets)


class UsageWriter:
    def __init__(self) -> None:
        self._batch = _Batch()
        self.pending_tokens: defaultdict[int, int] = defaultdict(int)
        self.pending_users: defaultdict[int, int] = defaultdict(int)

    def add(self, item: Consumption) -> None:
        batch = self._batch
        if item.token_id:
            batch.tokens[item.token_id] += item.quota
            self.pending_tokens[item.token_id] += item.quota
        user = batch.users[item.user_id]
        user[0] += item.quota
        user[1] += 1
        self.pending_users[item.user_id] += item.quota
        if item.channel_id:
            batch.channels[item.channel_id] += item.quota
        if item.log is not None:
            batch.logs.append(item.log)
        if item.export:
            hour = int(time.time()) // 3600 * 3600
            bucket = batch.buckets[(item.user_id, item.username, item.model_name, hour)]
            bucket[0] += 1
            bucket[1] += item.quota
            bucket[2] += item.tokens

    def add_log(self, row: dict[str, Any]) -> None:
        """A log row with no usage behind it (an error log), written with the next batch."""
        self._batch.logs.append(row)

    async def flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        logs, batch.logs = batch.logs, []
        if batch:
            await self._flush_counters(batch)
        if logs:
            # Logs may live on another database (LOG_SQL_DSN): their own step, retried alone.
            try:
                await Log.bulk_create([Log(**row) for row in logs])
            except BaseORMException:
                log.exception("log flush failed; %d rows kept for the next one", len(logs))
                self._batch.logs[:0] = logs

    async def _flush_counters(self, batch: _Batch) -> None:
        try:
            await self._write_counters(batch)
        except BaseORMException:
            log.exception("usage flush failed; the batch is kept for the next one")
            self._merge_back(batch)
            return
        for token_id, quota in batch.tokens.items():
            self._settled(self.pending_tokens, token_id, quota)
        for user_id, (quota, _) in batch.users.items():
            self._settled(self.pending_users, user_id, quota)

    @staticmethod
    def _settled(pending: defaultdict[int, int], key: int, quota: int) -> None:
        pending[key] -= quota
        if pending[key] == 0:
            del pending[key]

    async def _write_counters(self, batch: _Batch) -> None:
        now = int(time.time())
        async with in_transaction(MAIN_CONNECTION) as conn:
            for token_id, quota in batch.tokens.items():
                await (
                    Token.filter(id=token_id)
                    .using_db(conn)
                    .update(
                        remain_quota=F("remain_quota") - quota,
                        used_quota=F("used_quota") + quota,
                        accessed_time=now,
                    )
                )
            for user_id, (quota, count) in batch.users.items():
                await (
                    User.filter(id=user_id)
                    .using_db(conn)
                    .update(
                        quota=F("quota") - quota,
                        used_quota=F("used_quota") + quota,
                        request_count=F("request_count") + count,
                    )
                )
            for channel_id, quota in batch.channels.items():
                await (
                    Channel.filter(id=channel_id)
                    .using_db(conn)
                    .update(used_quota=F("used_quota") + quota)
                )
            for (user_id, username, model, hour), (count, quota, tokens) in batch.buckets.items():
                await _add_bucket(conn, user_id, username, model, hour, count, quota, tokens)

    def _merge_back(self, batch: _Batch) -> None:
        current = self._batch
        for token_id, quota in batch.tokens.items():
            current.tokens[token_id] += quota
        for user_id, (quota, count) in batch.users.items():
            current.users[user_id][0] += quota
            current.users[user_id][1] += count
        for channel_id, quota in batch.channels.items():
            current.channels[channel_id] += quota
        for key, values in batch.buckets.items():
            target = current.buckets[key]
            for index, value in enumerate(values):
                target[index] += value


async def _add_bucket(
    conn: Any,
    user_id: int,
    username: str,
    model: str,
    hour: int,
    count: int,
    quota: int,
    tokens: int,
) -> None:
    updated = (
        await QuotaData.filter(
            user_id=user_id, username=username, model_name=model, created_at=hour
        )
        .using_db(conn)
        .update(
            count=F("count") + count, quota=F("quota") + quota, token_used=F("token_used") + tokens
        )
    )
    if not updated:
        await QuotaData.create(
            using_db=conn,
            user_id=user_id,
            username=username,
            model_name=model,
            created_at=hour,
            count=count,
            quota=quota,
            token_used=tokens,
        )
