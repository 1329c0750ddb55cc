"""The settlement journal: every settled request is durable before its answer completes.

The usage writer batches database writes (``BATCH_UPDATE_INTERVAL``); a process killed between
two flushes would lose what its last requests used. So each settlement is first appended to a
journal, and dropped from it (acknowledged) only once the database holds it:

- :class:`~newapi.billing.journal_file.FileJournal` - append-only local segment files with
  group-committed ``fdatasync`` (no Redis: one process, memory cache);
- :class:`~newapi.billing.journal_redis.RedisJournal` - one Redis stream per process, with a
  lease; a live process recovers the stream of a dead one.

At start-up (and, with Redis, whenever a peer's lease lapses) the unacknowledged records are
replayed into the writer. Exactly-once comes from the database side: each record has a unique
id, and the writer stores the ids it applied in the same transaction as the counters and log
rows (``applied_settlements``, ``applied_log_settlements``), so a replay of a record whose batch
committed just before the crash changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import orjson

from newapi.errors import GatewayError


@dataclass(slots=True)
class Consumption:
    """One settled request (or realtime turn): what it cost and the log row to write."""

    user_id: int
    username: str
    token_id: int
    channel_id: int
    model_name: str
    quota: int
    tokens: int
    log: dict[str, Any] | None  # Log columns, or None when consume logs are off
    export: bool = True  # count it in quota_data
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # the settlement id
    at: int = 0  # unix seconds of the settlement (its quota_data hour)
    hold: str = ""  # the Redis hold it settles (see newapi.billing.holds)


_FIELDS = tuple(each.name for each in fields(Consumption))


class JournalError(GatewayError):
    """The journal cannot be opened or written."""


def encode(item: Consumption) -> bytes:
    # Not dataclasses.asdict: its deep copy of the log row cost ~0.2 ms per settlement.
    return orjson.dumps({name: getattr(item, name) for name in _FIELDS})


def decode(record: bytes) -> Consumption | None:
    """A journal record, or None for a torn or foreign one (logged by the caller)."""
    try:
        values = orjson.loads(record)
        return Consumption(**values)
    except (orjson.JSONDecodeError, TypeError):
        return None


class Journal(Protocol):
    async def open(self) -> None: ...

    async def append(self, item_id: str, record: bytes) -> None:
        """Durable when this returns."""

    async def ack(self, item_ids: list[str]) -> None:
        """The database holds these: forget them (best effort; a replay is harmless)."""

    async def recover(self) -> list[bytes]:
        """Records nobody applied yet: this journal's leftovers, or a dead peer's."""

    async def close(self) -> None: ...


class NullJournal:
    """No durability (unit tests, tools): records live in memory only."""

    async def open(self) -> None:
        return None

    async def append(self, item_id: str, record: bytes) -> None:
        return None

    async def ack(self, item_ids: list[str]) -> None:
        return None

    async def recover(self) -> list[bytes]:
        return []

    async def close(self) -> None:
        return None
