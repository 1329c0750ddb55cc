"""The channel-affinity store and its use by the relay (rules: :mod:`newapi.routing.affinity`).

Where the memory lives: with Redis (``REDIS_CONN_STRING``) the shared cache, so every worker
and node sends a conversation to the same channel - one GET per matched request before the
upstream call, made only while ``channel_affinity_setting.enabled`` is on. Without Redis a
process-local LRU of ``channel_affinity_setting.max_entries`` (read at start-up, as new-api
does): the lookup costs no round trip, but several Hypercorn workers each keep their own.
Writes happen after the upstream answered, in a tracked background task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newapi.adaptors.base import key_choices
from newapi.cache.base import Cache
from newapi.cache.memory import MemoryCache
from newapi.errors import ServiceUnavailable
from newapi.options.registry import Options
from newapi.relay.job import Job
from newapi.relay.upstream import candidates
from newapi.routing import affinity
from newapi.routing.affinity import (
    AffinitySettings,
    Match,
    Preference,
    Remembered,
    RequestFacts,
)
from newapi.routing.index import ChannelSnapshot, RoutingIndex, Tier

log = logging.getLogger(__name__)


def settings_of(options: Options) -> AffinitySettings:
    """The affinity settings of an options snapshot (parsed once per snapshot)."""
    return options.parsed("channel_affinity", lambda o: affinity.settings_from(o.str))


@dataclass(slots=True)
class Lookup:
    """One request's affinity: its conversation, what was remembered and whether it is usable."""

    match: Match
    remembered: Remembered | None
    usable: bool  # the remembered channel is still a candidate for this model and group

    @property
    def preference(self) -> Preference | None:
        if self.remembered is None or not self.usable or not self.match.follow:
            return None
        return Preference(self.remembered, self.match.skip_retry_on_failure)


class AffinityStore:
    """Conversation -> (channel, key) with a TTL, in a :class:`~newapi.cache.base.Cache`."""

    def __init__(self, cache: Cache, *, shared: bool, capacity: int) -> None:
        self.cache = cache
        self.shared = shared  # the app's Redis (True) or a private memory LRU
        self.capacity = capacity

    @classmethod
    def in_memory(cls, capacity: int = affinity.DEFAULT_MAX_ENTRIES) -> AffinityStore:
        return cls(MemoryCache(max_entries=capacity), shared=False, capacity=capacity)

    async def lookup(self, match: Match, tiers: list[Tier]) -> Lookup:
        """What the store remembers for ``match`` (nothing when the cache is unavailable:
        affinity is an optimisation, never a reason to fail a request)."""
        try:
            raw = await self.cache.get(match.cache_key)
        except ServiceUnavailable:
            log.warning("channel affinity: cache unavailable, choosing without it")
            return Lookup(match, None, False)
        remembered = Remembered.decode(raw)
        usable = remembered is not None and affinity.serves(tiers, remembered.channel_id)
        return Lookup(match, remembered, usable)

    async def record(
        self, settings: AffinitySettings, lookup: Lookup, channel: ChannelSnapshot, key_index: int
    ) -> None:
        """Remember that ``channel`` (its key ``key_index``) served the conversation."""
        served = Remembered(channel.id, key_index, _key_fp(channel, key_index), time.time())
        entry = affinity.to_remember(
            settings, lookup.match, lookup.remembered, lookup.usable, served
        )
        if entry is None:
            return
        try:
            await self.cache.set(lookup.match.cache_key, entry.encode(), lookup.match.ttl_seconds)
        except ServiceUnavailable:
            log.warning("channel affinity: cache unavailable, entry not written")

    async def stats(self, settings: AffinitySettings) -> dict[str, Any]:
        """new-api's ``GET /api/option/channel_affinity_cache`` data."""
        keys = await self.cache.keys(affinity.NAMESPACE)
        by_rule = {r.name: 0 for r in settings.rules if r.name and r.include_rule_name}
        unknown = 0
        for key in keys:
            rule_name = key[len(affinity.NAMESPACE) :].split(":", 1)[0]
            if rule_name in by_rule:
                by_rule[rule_name] += 1
            else:
                unknown += 1
        return {
            "enabled": settings.enabled,
            "total": len(keys),
            "unknown": unknown,
            "by_rule_name": by_rule,
            "cache_capacity": 0 if self.shared else self.capacity,
            "cache_algo": "redis" if self.shared else "lru",
        }

    async def clear(self, prefix: str = affinity.NAMESPACE) -> int:
        """Delete every entry under ``prefix``; how many there were."""
        keys = await self.cache.keys(prefix)
        for start in range(0, len(keys), 500):
            await self.cache.delete(*keys[start : start + 500])
        return len(keys)


def _key_fp(channel: ChannelSnapshot, key_index: int) -> str:
    for index, key in key_choices(channel):
        if index == key_index:
            return affinity.fingerprint(key)
    return ""


async def lookup_for(
    store: AffinityStore,
    settings: AffinitySettings,
    index: RoutingIndex,
    job: Job,
    headers: Mapping[str, str],
) -> Lookup | None:
    """The affinity of ``job``: None when the feature is off, the channel is forced by the key,
    or no rule names the request's conversation (no cache round trip then)."""
    caller = job.caller
    if not settings.enabled or caller.forced_channel is not None:
        return None
    facts = RequestFacts(
        job.path, job.model, job.body, headers, caller.token_id, caller.user_id, caller.group
    )
    match = affinity.match(settings, facts)
    if match is None:
        return None
    return await store.lookup(match, candidates(index, caller, job.model))
