"""new-api's model request rate limit: per user, a total and a success limit in a sliding window.

Options (new-api's): ``ModelRequestRateLimitEnabled``; ``ModelRequestRateLimitDurationMinutes``
(the window, M); ``ModelRequestRateLimitCount`` (total requests, failures included) and
``ModelRequestRateLimitSuccessCount`` (requests that did not fail), 0 = unlimited for both;
``ModelRequestRateLimitGroup`` ``{group: [total, success]}`` overrides both for callers in that
group (the token's group, else the user's: :attr:`Caller.group`). The logs are per user id,
whichever key or group the user calls with.

Algorithm: two sliding-window logs per user, kept in the shared cache (a sorted set on Redis,
an ordered dict in memory), each entry one request named by a random id and stamped with the
time it was admitted:

* the *total* log gets every admitted request;
* the *success* log gets every admitted request too, as a reservation, and the request takes
  its entry back when it ends with a status >= 400. A request in flight therefore holds a
  success place, so a burst of concurrent requests cannot overshoot the success limit (new-api
  checks successes before the request and records them after, so a burst all passes).

A request is admitted when each log holds fewer than its limit entries younger than M minutes;
then its entry goes into both logs. Check and add are one atomic step (a Lua script on Redis
using the Redis clock, so every node and worker agrees; one event-loop step in memory), so
concurrent requests on any number of nodes admit exactly the limit. A refused request leaves
no entry, so a client retrying in a loop is not locked out longer. Entries leave the window
one by one (no fixed-window reset that lets 2N through around the boundary), and a changed M
applies at once. The 429 says which limit was hit and when the oldest entry leaves.

Both backends share these semantics; the memory backend is exact within one process (it is
the single-node default). A request whose process dies (or whose client leaves before the
answer) keeps its success place until it leaves the window: the error is on the safe side.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from typing import Any

from quart import Response

from newapi.cache.base import Cache
from newapi.errors import RelayRateLimited, ServiceUnavailable
from newapi.options import Options
from newapi.relay.auth import Caller

log = logging.getLogger(__name__)

ENABLED = "ModelRequestRateLimitEnabled"
MINUTES = "ModelRequestRateLimitDurationMinutes"
TOTAL_COUNT = "ModelRequestRateLimitCount"
SUCCESS_COUNT = "ModelRequestRateLimitSuccessCount"
GROUPS = "ModelRequestRateLimitGroup"


@dataclass(frozen=True, slots=True)
class Limits:
    total: int  # admitted requests in the window, failures included; 0 = unlimited
    success: int  # admitted requests that did not fail; 0 = unlimited
    minutes: int

    @property
    def active(self) -> bool:
        return self.minutes > 0 and (self.total > 0 or self.success > 0)


def is_limit_pair(value: Any) -> bool:
    """``[total, success]``, whole numbers >= 0: what ``ModelRequestRateLimitGroup`` maps to."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)
    )


def limits_for(options: Options, group: str) -> Limits | None:
    """The limits for a caller in ``group``, or None when none applies."""
    if not options.bool(ENABLED):
        return None
    total, success = options.int(TOTAL_COUNT), options.int(SUCCESS_COUNT)
    table = options.json(GROUPS)
    override = table.get(group) if isinstance(table, dict) else None
    if is_limit_pair(override):
        total, success = override
    limits = Limits(max(total, 0), max(success, 0), options.int(MINUTES))
    return limits if limits.active else None


def log_keys(user_id: int) -> tuple[str, str]:
    """(total log, success log) of a user; the ``{id}`` hash tag keeps both in one slot."""
    base = f"rateLimit:model:{{{user_id}}}"
    return f"{base}:total", f"{base}:success"


@dataclass(frozen=True, slots=True)
class Admission:
    """An admitted request; :meth:`finish` runs on its final response."""

    cache: Cache | None = None
    success_key: str = ""
    member: str = ""

    async def finish(self, response: Response) -> Response:
        """A request that failed (status >= 400) gives its success place back."""
        if self.cache is not None and self.success_key and response.status_code >= 400:
            try:
                await self.cache.forget(self.success_key, self.member)
            except ServiceUnavailable:
                # The place is released when it leaves the window; the answer still goes out.
                log.warning("could not release a success place: the cache is unavailable")
        return response


async def admit(cache: Cache, options: Options, caller: Caller) -> Admission:
    """Admit one request of ``caller`` or raise :class:`RelayRateLimited` (429)."""
    limits = limits_for(options, caller.group)
    if limits is None:
        return Admission()
    total_key, success_key = log_keys(caller.user_id)
    checked = [(total_key, limits.total), (success_key, limits.success)]
    checked = [(key, limit) for key, limit in checked if limit > 0]
    member = secrets.token_hex(12)
    index, wait = await cache.admit(
        [key for key, _ in checked], [limit for _, limit in checked], limits.minutes * 60, member
    )
    if index >= 0:
        raise refusal(limits, checked[index][0] == total_key, wait)
    return Admission(cache, success_key if limits.success > 0 else "", member)


def refusal(limits: Limits, total: bool, wait: float) -> RelayRateLimited:
    count = limits.total if total else limits.success
    message = f"reached request limit: at most {count} in {limits.minutes} minutes"
    if total:
        message += " (failed requests included)"
    error = RelayRateLimited(f"{message}; try again in {max(math.ceil(wait), 1)} seconds")
    error.retry_after(wait)
    return error
