"""The usage writer applies each journaled settlement exactly once, whatever the crash point."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise

from newapi.billing.journal import Consumption
from newapi.billing.journal_file import FileJournal
from newapi.billing.writer import UsageWriter
from newapi.config import load_settings
from newapi.db.connection import tortoise_config
from newapi.db.migrate import migrate
from newapi.models import AppliedUsage, Log, QuotaData, Token, User
from newapi.models.log import LOG_CONSUME


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[None]:
    settings = load_settings({"SQLITE_PATH": str(tmp_path / "writer.db")})
    await migrate(settings)
    await Tortoise.init(config=tortoise_config(settings))
    yield
    await Tortoise.close_connections()


def used(user_id: int, token_id: int, quota: int, number: int) -> Consumption:
    row = {"user_id": user_id, "type": LOG_CONSUME, "quota": quota, "request_id": f"r{number}"}
    return Consumption(user_id, "u", token_id, 0, "gpt-4o-mini", quota, 30, row)


async def books(user_id: int, token_id: int) -> tuple[int, int, int, int, int]:
    user = await User.get(id=user_id)
    token = await Token.get(id=token_id)
    logs = await Log.filter(user_id=user_id).values_list("quota", flat=True)
    buckets = await QuotaData.filter(user_id=user_id).values_list("quota", flat=True)
    return user.used_quota, token.used_quota, token.remain_quota, sum(logs), sum(buckets)


async def test_a_replay_after_commit_but_before_the_ack_charges_nothing_twice(
    database: None, tmp_path: Path
) -> None:
    user = await User.create(username="u", password="x", quota=100_000)
    token = await Token.create(user_id=user.id, key="k" * 48, remain_quota=50_000)
    journal_dir, crashed = tmp_path / "journal", tmp_path / "journal-at-crash"
    first = UsageWriter(FileJournal(journal_dir))
    await first.journal.open()
    for number in range(5):
        await first.add(used(user.id, token.id, 100 * (number + 1), number))
    # The disk as a process killed after the database commit, before the ack, leaves it.
    shutil.copytree(journal_dir, crashed)
    await first.flush()
    await first.journal.close()
    assert await books(user.id, token.id) == (1500, 1500, 48_500, 1500, 1500)
    assert [p.name for p in journal_dir.rglob("*.journal")] == []  # acknowledged: gone
    shutil.rmtree(journal_dir)
    shutil.copytree(crashed, journal_dir)

    second = UsageWriter(FileJournal(journal_dir))
    await second.journal.open()
    assert await second.replay() == 5
    assert second.pending_users[user.id] == 1500  # until the flush proves them applied
    await second.flush()
    await second.journal.close()
    assert await books(user.id, token.id) == (1500, 1500, 48_500, 1500, 1500)
    assert await Log.filter(user_id=user.id).count() == 5
    assert not second.pending_users and not second.pending_tokens
    assert [p.name for p in journal_dir.rglob("*.journal")] == []
    # A third start finds nothing left to replay.
    third = UsageWriter(FileJournal(journal_dir))
    await third.journal.open()
    assert await third.replay() == 0
    await third.journal.close()


async def test_a_replay_of_unflushed_settlements_applies_them_once(
    database: None, tmp_path: Path
) -> None:
    user = await User.create(username="u", password="x", quota=100_000)
    token = await Token.create(user_id=user.id, key="k" * 48, remain_quota=50_000)
    first = UsageWriter(FileJournal(tmp_path / "journal"))
    await first.journal.open()
    for number in range(3):
        await first.add(used(user.id, token.id, 1000, number))
    await first.journal.close()  # stopped without a flush: unacknowledged records stay
    second = UsageWriter(FileJournal(tmp_path / "journal"))
    await second.journal.open()
    assert await second.replay() == 3
    await second.flush()
    await second.flush()  # a second flush has nothing left to write
    assert await books(user.id, token.id) == (3000, 3000, 47_000, 3000, 3000)
    assert await AppliedUsage.all().count() == 3
    await second.journal.close()


async def test_old_applied_ids_are_pruned(database: None) -> None:
    await AppliedUsage.create(id="a" * 32, created_at=1)
    await AppliedUsage.create(id="b" * 32, created_at=2_000_000_000)
    await UsageWriter().prune(older_than=3600)
    assert await AppliedUsage.all().values_list("id", flat=True) == ["b" * 32]


def test_error_logs_held_for_an_absent_database_are_capped_oldest_first() -> None:
    writer = UsageWriter()
    for n in range(5):
        writer.add_log({"n": n}, limit=3)
    assert [row["n"] for row in writer._error_logs] == [2, 3, 4]
    assert writer._dropped_error_logs == 2
    assert writer.unwritten == 0  # error logs carry no usage: they never refuse a call
