"""Fixed-window rate limits per client IP, counted in the shared cache.

These guard the admin API against floods, not money: while the cache is unreachable they let
requests through (logged), so ``/api/status`` and access-token scripts keep answering during a
Redis outage instead of every ``/api`` call failing with it (new-api answers 500 there).
"""

from __future__ import annotations

import logging

from quart import request

from newapi.cache.base import Cache
from newapi.config import RateLimit
from newapi.errors import RateLimited, ServiceUnavailable

log = logging.getLogger(__name__)


def client_ip() -> str:
    return request.remote_addr or "unknown"


async def enforce(cache: Cache, limit: RateLimit, mark: str) -> None:
    if not limit.enabled:
        return
    try:
        count = await cache.hit(f"rateLimit:{mark}{client_ip()}", limit.duration)
    except ServiceUnavailable as error:
        log.warning("rate limit %s not counted: %s", mark, error.message)
        return
    if count > limit.count:
        # A fixed window: it ends within ``duration`` seconds, the safe time to come back.
        raise RateLimited(
            f"too many requests: at most {limit.count} in {limit.duration} seconds, try later"
        ).retry_after(limit.duration)


async def enforce_search_limit() -> None:
    """new-api's SearchRateLimit, for the search routes (they scan tables with LIKE)."""
    from newapi.state import app_state

    state = app_state()
    await enforce(state.cache, state.settings.search_rate_limit, "SR")
