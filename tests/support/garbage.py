"""Unclosed SDK clients are closed between tests, never in the middle of the next one.

A test that drops an ``openai``/``anthropic`` client without closing it leaves a reference
cycle. When the cyclic garbage collector frees it (at any allocation, often during the next
test's burst of requests), two finalizers run out of order: asyncio's transport finalizer
closes each pooled socket at once, freeing its file descriptor, while the SDK's finalizer only
schedules ``aclose()``. A new connection opened in between gets the freed fd number; the late
``aclose()`` then aborts the old transport, which unregisters its (now stale) fd from the event
loop, i.e. the new connection's reader. That request's response stays unread in the socket
until the SDK's timeout, though the server answered (DEVELOPERS.md, "Unclosed clients").
"""

from __future__ import annotations

import asyncio
import gc

CLOSE_SECONDS = 10.0


async def collect_dropped_clients() -> None:
    """Free the garbage now, while no connection is being opened, and await the closes that
    the freed clients' finalizers schedule."""
    current = asyncio.current_task()
    before = asyncio.all_tasks()
    gc.collect()
    scheduled = asyncio.all_tasks() - before - {current}
    if scheduled:
        await asyncio.wait(scheduled, timeout=CLOSE_SECONDS)
