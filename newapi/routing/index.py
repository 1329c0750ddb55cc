"""The routing index: group -> model -> priority tiers of enabled channels (pure, no I/O).

A channel serves every (group, model) pair of its comma-separated ``group`` and ``models``
columns. For one pair, the candidate channels are split into *tiers* by priority, highest first;
the relay tries the first tier (weighted random inside it) and falls back tier by tier on retry,
as new-api does. Only enabled channels (status 1) of a served type are indexed; every channel,
enabled or not, served or not, stays reachable by id through :meth:`RoutingIndex.channel`.

An index is immutable: the channel cache builds a new one and swaps it in whole, so a request
never sees a half-built table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

CHANNEL_ENABLED = 1

# One priority tier: (channel_id, weight) pairs, in channel-id order.
Tier = tuple[tuple[int, int], ...]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _no_values() -> Mapping[str, Any]:
    return _EMPTY


def split_list(raw: str | None) -> tuple[str, ...]:
    """A comma-separated column as names: blanks trimmed, empties dropped, duplicates removed."""
    if not raw:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One channel as the relay sees it. ``key`` is kept out of ``repr`` so it never gets logged."""

    id: int
    type: int
    name: str
    status: int
    groups: tuple[str, ...]
    models: tuple[str, ...]
    priority: int = 0
    weight: int = 0
    key: str = field(default="", repr=False)
    tag: str | None = None
    base_url: str = ""
    other: str = ""
    openai_organization: str = ""
    test_model: str = ""
    auto_ban: bool = True
    model_mapping: Mapping[str, Any] = field(default_factory=_no_values)
    status_code_mapping: Mapping[str, Any] = field(default_factory=_no_values)
    param_override: Mapping[str, Any] = field(default_factory=_no_values)
    header_override: Mapping[str, Any] = field(default_factory=_no_values)
    setting: Mapping[str, Any] = field(default_factory=_no_values)
    settings: Mapping[str, Any] = field(default_factory=_no_values)
    channel_info: Mapping[str, Any] = field(default_factory=_no_values)
    # False when this version of newapi has no adaptor for the type (an adopted new-api row).
    served: bool = True

    @property
    def enabled(self) -> bool:
        return self.status == CHANNEL_ENABLED

    @property
    def routable(self) -> bool:
        """Enabled and of a served type: a candidate for requests."""
        return self.enabled and self.served


Table = Mapping[str, Mapping[str, tuple[Tier, ...]]]


@dataclass(frozen=True, slots=True)
class RoutingIndex:
    channels: Mapping[int, ChannelSnapshot]
    table: Table

    @classmethod
    def empty(cls) -> RoutingIndex:
        return cls(MappingProxyType({}), MappingProxyType({}))

    @classmethod
    def build(cls, channels: Iterable[ChannelSnapshot]) -> RoutingIndex:
        by_id = {channel.id: channel for channel in channels}
        return cls(MappingProxyType(by_id), _build_table(by_id.values()))

    def channel(self, channel_id: int) -> ChannelSnapshot | None:
        return self.channels.get(channel_id)

    def tiers(self, group: str, model: str) -> tuple[Tier, ...]:
        """Priority tiers for (group, model), highest priority first; empty when none serve it."""
        return self.table.get(group, _EMPTY).get(model, ())

    def has(self, group: str, model: str) -> bool:
        return bool(self.tiers(group, model))

    def models_for_group(self, group: str) -> tuple[str, ...]:
        """Models that at least one routable channel serves in ``group``, sorted."""
        return tuple(sorted(self.table.get(group, _EMPTY)))

    def groups(self) -> tuple[str, ...]:
        """Groups that at least one routable channel serves, sorted."""
        return tuple(sorted(self.table))

    def all_models(self) -> tuple[str, ...]:
        """Every model a routable channel serves in any group, sorted."""
        return tuple(sorted({model for models in self.table.values() for model in models}))


def _build_table(channels: Iterable[ChannelSnapshot]) -> Table:
    candidates: defaultdict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for channel in channels:
        if not channel.routable:
            continue
        entry = (channel.priority, channel.id, max(channel.weight, 0))
        for group in channel.groups:
            for model in channel.models:
                candidates[(group, model)].append(entry)
    table: defaultdict[str, dict[str, tuple[Tier, ...]]] = defaultdict(dict)
    for (group, model), entries in candidates.items():
        table[group][model] = _tiers(entries)
    return MappingProxyType({g: MappingProxyType(models) for g, models in table.items()})


def _tiers(entries: list[tuple[int, int, int]]) -> tuple[Tier, ...]:
    """(priority, channel_id, weight) entries -> tiers by priority descending."""
    by_priority: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    for priority, channel_id, weight in entries:
        by_priority[priority].append((channel_id, weight))
    return tuple(tuple(sorted(by_priority[p])) for p in sorted(by_priority, reverse=True))
