"""The ``auto`` token group: which real groups serve a model, in the admin's order (pure).

A key whose group is ``auto`` is routed through ``AutoGroups`` (limited to the groups its user
may use): the first group with a channel for the model serves it and its ratio is billed. With
the key's ``cross_group_retry`` flag, a request whose channels in that group all failed goes on
to the next group's tiers, top to bottom, before the caller sees an error.
"""

from __future__ import annotations

from collections.abc import Iterable

from newapi.routing.index import RoutingIndex, Tier

AUTO = "auto"


def serving_groups(index: RoutingIndex, groups: Iterable[str], model: str) -> tuple[str, ...]:
    """``groups`` that have an enabled channel for ``model``, in order, without repeats."""
    seen: list[str] = []
    for group in groups:
        if group not in seen and index.has(group, model):
            seen.append(group)
    return tuple(seen)


def chained_tiers(index: RoutingIndex, groups: Iterable[str], model: str) -> list[Tier]:
    """Every tier of every group in turn: a group is exhausted before the next is tried."""
    return [tier for group in groups for tier in index.tiers(group, model)]


def group_of(index: RoutingIndex, groups: Iterable[str], model: str, channel_id: int) -> str:
    """The first of ``groups`` in which ``channel_id`` serves ``model`` ("" when none)."""
    for group in groups:
        if any(cid == channel_id for tier in index.tiers(group, model) for cid, _ in tier):
            return group
    return ""
