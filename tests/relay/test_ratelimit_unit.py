"""The model request rate limit without a server: the sliding window on a given clock, limits."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Response

from newapi.cache import MemoryCache
from newapi.cache.memory import SlidingLog, admit_into
from newapi.errors import RelayRateLimited
from newapi.options import Options
from newapi.relay.auth import Caller
from newapi.relay.ratelimit import Limits, admit, is_limit_pair, limits_for, log_keys, refusal

WINDOW = 60.0


def admit_at(logs: list[SlidingLog], limits: list[int], member: str, now: float) -> int:
    return admit_into(logs, limits, WINDOW, member, now)[0]


def test_log_admits_the_limit_then_refuses_until_the_oldest_leaves() -> None:
    log = SlidingLog()
    assert [admit_at([log], [3], f"m{t}", float(t)) for t in (0, 10, 20)] == [-1, -1, -1]
    assert admit_into([log], [3], WINDOW, "late", 59.9) == (0, pytest.approx(0.1))
    # The entry made at 0 leaves at exactly 60 (the window is [now - 60, now), open at the left).
    assert admit_at([log], [3], "at-60", 60.0) == -1
    assert admit_into([log], [3], WINDOW, "again", 61.0) == (0, pytest.approx(9.0))
    assert list(log.added) == ["m10", "m20", "at-60"]


def test_entries_leave_one_by_one_not_all_at_a_boundary() -> None:
    """A fixed window would let 2N through around its edge; the sliding log never does."""
    log = SlidingLog()
    admitted = [t for t in range(0, 240) if admit_at([log], [4], f"m{t}", t * 0.5) == -1]
    # Four per 60 s at most in every window, whatever its start.
    times = [t * 0.5 for t in admitted]
    assert all(sum(1 for x in times if start <= x < start + WINDOW) <= 4 for start in times)
    assert times[:5] == [0.0, 0.5, 1.0, 1.5, 60.0]


def test_admission_takes_a_place_in_every_log_or_in_none() -> None:
    total, success = SlidingLog(), SlidingLog()
    assert admit_at([total, success], [10, 1], "a", 0.0) == -1
    assert admit_at([total, success], [10, 1], "b", 1.0) == 1
    assert list(total.added) == ["a"] and list(success.added) == ["a"]
    success.added.pop("a")  # what forget() does for a failed request
    assert admit_at([total, success], [10, 1], "c", 2.0) == -1
    assert list(total.added) == ["a", "c"] and list(success.added) == ["c"]


def test_a_reused_member_moves_to_the_end() -> None:
    log = SlidingLog()
    admit_at([log], [5], "x", 0.0)
    admit_at([log], [5], "y", 1.0)
    admit_at([log], [5], "x", 2.0)
    assert list(log.added.items()) == [("y", 1.0), ("x", 2.0)]
    log.prune(1.0)
    assert list(log.added) == ["x"]


def options(**values: Any) -> Options:
    return Options({key: str(value) for key, value in values.items()})


def test_limits_come_from_the_options_and_the_group_table() -> None:
    assert limits_for(options(), "default") is None  # disabled by default
    on = {"ModelRequestRateLimitEnabled": "true"}
    assert limits_for(options(**on), "default") == Limits(0, 1000, 1)
    table = '{"vip": [5, 2], "free": [0, 0], "odd": [1, "x"]}'
    opts = options(
        **on,
        ModelRequestRateLimitCount=9,
        ModelRequestRateLimitSuccessCount=7,
        ModelRequestRateLimitDurationMinutes=3,
        ModelRequestRateLimitGroup=table,
    )
    assert limits_for(opts, "vip") == Limits(5, 2, 3)
    assert limits_for(opts, "default") == Limits(9, 7, 3)
    assert limits_for(opts, "free") is None  # [0, 0]: unlimited for that group
    assert limits_for(opts, "odd") == Limits(9, 7, 3)  # a malformed entry is ignored
    off = {**on, "ModelRequestRateLimitSuccessCount": 0}
    assert limits_for(options(**off), "default") is None
    no_window = {**on, "ModelRequestRateLimitDurationMinutes": 0}
    assert limits_for(options(**no_window), "default") is None


def test_limit_pairs() -> None:
    assert is_limit_pair([0, 0]) and is_limit_pair([10, 3])
    for bad in ([1], [1, 2, 3], [-1, 2], [1.5, 2], [True, 2], "1,2", None, {"a": 1}):
        assert not is_limit_pair(bad)


def test_refusal_names_the_limit_and_the_wait() -> None:
    limits = Limits(total=5, success=3, minutes=2)
    assert refusal(limits, False, 12.2).message == (
        "reached request limit: at most 3 in 2 minutes; try again in 13 seconds"
    )
    total = refusal(limits, True, 0.0)
    assert total.message == (
        "reached request limit: at most 5 in 2 minutes (failed requests included); "
        "try again in 1 seconds"
    )
    assert total.http_status == 429 and total.kind == "rate_limit_error"


def test_log_keys_share_one_redis_cluster_slot() -> None:
    assert log_keys(42) == ("rateLimit:model:{42}:total", "rateLimit:model:{42}:success")


def caller(user_id: int, group: str) -> Caller:
    return Caller("k", {"id": 1}, {"id": user_id, "group": "default"}, group)


async def test_admit_and_finish_on_the_memory_cache() -> None:
    cache = MemoryCache()
    opts = options(ModelRequestRateLimitEnabled="true", ModelRequestRateLimitSuccessCount=2)
    first = await admit(cache, opts, caller(1, "default"))
    second = await admit(cache, opts, caller(1, "default"))
    await admit(cache, opts, caller(2, "default"))  # another user has their own logs
    with pytest.raises(RelayRateLimited) as refused:
        await admit(cache, opts, caller(1, "default"))
    assert refused.value.message.startswith("reached request limit: at most 2 in 1 minutes;")
    ok = Response("fine", status=200)
    assert await first.finish(ok) is ok  # a success keeps its place
    with pytest.raises(RelayRateLimited):
        await admit(cache, opts, caller(1, "default"))
    await second.finish(Response("bad", status=502))  # a failure gives it back
    await admit(cache, opts, caller(1, "default"))
    with pytest.raises(RelayRateLimited):
        await admit(cache, opts, caller(1, "default"))


async def test_total_limit_keeps_failures() -> None:
    cache = MemoryCache()
    opts = options(
        ModelRequestRateLimitEnabled="true",
        ModelRequestRateLimitCount=2,
        ModelRequestRateLimitSuccessCount=0,
    )
    for _ in range(2):
        admission = await admit(cache, opts, caller(1, "default"))
        assert admission.success_key == ""  # no success limit: nothing to give back
        await admission.finish(Response("bad", status=500))
    with pytest.raises(RelayRateLimited) as refused:
        await admit(cache, opts, caller(1, "default"))
    assert "at most 2 in 1 minutes (failed requests included)" in refused.value.message


async def test_nothing_is_counted_while_disabled() -> None:
    cache = MemoryCache()
    admission = await admit(cache, options(), caller(1, "default"))
    assert admission.cache is None
    response = Response("x", status=500)
    assert await admission.finish(response) is response
