"""Pick a channel for one attempt: priority tiers, weighted random inside a tier (pure).

Rules, improving on new-api where it fails its users:

* Tiers are tried from the highest priority down. A channel that already failed for this
  request is excluded, so a retry never hits it again; the next attempt takes another channel
  of the same tier, and only when the tier is exhausted the next lower one - no tier skipped.
* Inside a tier the pick is random, proportional to weight.
* **Weight 0 means standby**: such a channel is picked only when no channel with a positive
  weight is left in its tier (new-api never picks it then, even after all others failed); a
  tier where every remaining weight is 0 is picked uniformly.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from newapi.routing.index import Tier

RandomBelow = Callable[[int], int]  # returns an int in [0, n)


def pick(tiers: Sequence[Tier], excluded: Collection[int], random_below: RandomBelow) -> int | None:
    """The channel id for the next attempt, or None when every channel was excluded."""
    for tier in tiers:
        candidates = [(cid, weight) for cid, weight in tier if cid not in excluded]
        if candidates:
            return _weighted(candidates, random_below)
    return None


def _weighted(candidates: list[tuple[int, int]], random_below: RandomBelow) -> int:
    weighted = [(cid, weight) for cid, weight in candidates if weight > 0]
    if not weighted:
        return candidates[random_below(len(candidates))][0]
    point = random_below(sum(weight for _, weight in weighted))
    for cid, weight in weighted:
        if point < weight:
            return cid
        point -= weight
    return weighted[-1][0]  # unreachable with a correct random_below
