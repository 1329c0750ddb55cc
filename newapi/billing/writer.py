"""Usage writes, batched off the request path, journaled so a crash loses none.

The relay hands each finished request to :meth:`UsageWriter.add`: one journal append (see
:mod:`newapi.billing.journal`), then memory only. A background task flushes every ``interval``
seconds in two steps, each one transaction that also records the settlement ids it applied:
token, user and channel counters and hourly ``quota_data`` buckets on the main database, then
consume logs on the logs database (``LOG_SQL_DSN`` may move it). An id already recorded is
skipped, so a replayed journal record is never applied twice. A failed step keeps its items
for the next flush. Records are acknowledged to the journal once both steps hold them.
``pending_*`` tell the ledger how much this process consumed that the database does not show yet.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from newapi.billing.journal import (
    Consumption,
    Journal,
    JournalError,
    NullJournal,
    decode,
    encode,
)
from newapi.db.connection import MAIN_CONNECTION
from newapi.models import AppliedLog, AppliedUsage, Channel, Log, QuotaData, Token, User

log = logging.getLogger(__name__)

__all__ = ["Consumption", "UsageWriter"]

BucketKey = tuple[int, str, str, int]  # user_id, username, model_name, hour
_CHUNK = 500  # ids per IN (...) query


@dataclass(slots=True)
class _Batch:
    tokens: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    users: defaultdict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    channels: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    buckets: defaultdict[BucketKey, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )

    @classmethod
    def of(cls, items: Iterable[Consumption]) -> _Batch:
        batch = cls()
        for item in items:
            if item.token_id:
                batch.tokens[item.token_id] += item.quota
            user = batch.users[item.user_id]
            user[0] += item.quota
            user[1] += 1
            if item.channel_id:
                batch.channels[item.channel_id] += item.quota
            if item.export:
                hour = item.at // 3600 * 3600
                bucket = batch.buckets[(item.user_id, item.username, item.model_name, hour)]
                bucket[0] += 1
                bucket[1] += item.quota
                bucket[2] += item.tokens
        return batch


class UsageWriter:
    def __init__(self, journal: Journal | None = None) -> None:
        self.journal: Journal = journal or NullJournal()
        self._counters: list[Consumption] = []  # due for the counters step
        self._logs: list[Consumption] = []  # counters written, due for the logs step
        self._error_logs: list[dict[str, Any]] = []
        self._dropped_error_logs = 0
        self.pending_tokens: defaultdict[int, int] = defaultdict(int)
        self.pending_users: defaultdict[int, int] = defaultdict(int)

    async def add(self, item: Consumption) -> None:
        """Record a settlement: durable in the journal when this returns."""
        if not item.at:
            item.at = int(time.time())
        try:
            await self.journal.append(item.id, encode(item))
        except JournalError as error:
            # The answer is already paid upstream: keep it in memory (written with the next
            # batch) rather than fail the caller; only a crash before that flush would lose it.
            log.error("settlement %s not journaled: %s", item.id, error.message)
        self.restore(item)

    def restore(self, item: Consumption) -> None:
        """Take a settlement into the next batch without journaling it (a journal replay)."""
        self._counters.append(item)
        if item.token_id:
            self.pending_tokens[item.token_id] += item.quota
        self.pending_users[item.user_id] += item.quota

    async def replay(self) -> int:
        """Take the journal's unapplied records (a dead process's) into the next batch."""
        count = 0
        for record in await self.journal.recover():
            item = decode(record)
            if item is None:
                log.warning("skipping an unreadable journal record (%d bytes)", len(record))
                continue
            self.restore(item)
            count += 1
        return count

    @property
    def unwritten(self) -> int:
        """Settlements taken but not yet written to the database (all of them while it is away)."""
        return len(self._counters) + len(self._logs)

    def add_log(self, row: dict[str, Any], limit: int) -> None:
        """A log row with no usage behind it (an error log), written with the next batch; at
        most ``limit`` are held (a database outage), the oldest dropped first."""
        self._error_logs.append(row)
        if len(self._error_logs) > limit:
            del self._error_logs[0]
            self._dropped_error_logs += 1

    async def flush(self) -> None:
        if self._dropped_error_logs:
            log.warning(
                "%d error logs dropped while the database was away", self._dropped_error_logs
            )
            self._dropped_error_logs = 0
        due, self._counters = self._counters, []
        if due and await self._flush_counters(due):
            self._logs += due
        logs, self._logs = self._logs, []
        errors, self._error_logs = self._error_logs, []
        if not logs and not errors:
            return
        try:
            await self._write_logs(logs, errors)
        except BaseORMException:
            log.exception(
                "log flush failed; %d rows kept for the next one", len(logs) + len(errors)
            )
            self._logs[:0] = logs
            self._error_logs[:0] = errors
            return
        await self.journal.ack([item.id for item in logs])

    async def _flush_counters(self, due: list[Consumption]) -> bool:
        try:
            await self._write_counters(due)
        except BaseORMException:
            log.exception("usage flush failed; the batch is kept for the next one")
            self._counters[:0] = due
            return False
        for item in due:
            if item.token_id:
                self._settled(self.pending_tokens, item.token_id, item.quota)
            self._settled(self.pending_users, item.user_id, item.quota)
        return True

    @staticmethod
    def _settled(pending: defaultdict[int, int], key: int, quota: int) -> None:
        pending[key] -= quota
        if pending[key] == 0:
            del pending[key]

    async def _write_counters(self, due: list[Consumption]) -> None:
        now = int(time.time())
        async with in_transaction(MAIN_CONNECTION) as conn:
            fresh = await _unapplied(AppliedUsage, conn, due)
            if not fresh:
                return
            await _write_batch(conn, _Batch.of(fresh), now)
            await AppliedUsage.bulk_create(
                [AppliedUsage(id=item.id, created_at=now) for item in fresh], using_db=conn
            )

    async def _write_logs(self, items: list[Consumption], errors: list[dict[str, Any]]) -> None:
        now = int(time.time())
        async with in_transaction(Log._meta.default_connection) as conn:
            fresh = [item for item in await _unapplied(AppliedLog, conn, items) if item.log]
            rows = [Log(**row) for row in errors] + [Log(**item.log) for item in fresh if item.log]
            if rows:
                await Log.bulk_create(rows, using_db=conn)
            if fresh:
                await AppliedLog.bulk_create(
                    [AppliedLog(id=item.id, created_at=now) for item in fresh], using_db=conn
                )

    async def prune(self, older_than: int) -> None:
        """Forget applied ids older than ``older_than`` seconds (their records are long acked)."""
        cutoff = int(time.time()) - older_than
        await AppliedUsage.filter(created_at__lt=cutoff).delete()
        await AppliedLog.filter(created_at__lt=cutoff).delete()


async def _unapplied(
    model: type[Model], conn: BaseDBAsyncClient, items: list[Consumption]
) -> list[Consumption]:
    """``items`` whose id ``model`` has not recorded (read inside the writing transaction)."""
    applied: set[str] = set()
    for start in range(0, len(items), _CHUNK):
        ids = [item.id for item in items[start : start + _CHUNK]]
        found = await model.filter(id__in=ids).using_db(conn).values_list("id", flat=True)
        applied.update(str(value) for value in found)
    return [item for item in items if item.id not in applied]


async def _write_batch(conn: BaseDBAsyncClient, batch: _Batch, now: int) -> None:
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
            Channel.filter(id=channel_id).using_db(conn).update(used_quota=F("used_quota") + quota)
        )
    for (user_id, username, model, hour), (count, quota, tokens) in batch.buckets.items():
        await _add_bucket(conn, user_id, username, model, hour, count, quota, tokens)


async def _add_bucket(
    conn: BaseDBAsyncClient,
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
