"""Channel picks: tiers, exclusion of failed channels, weights and the weight-0 rule."""

from __future__ import annotations

import math
import random
from collections import Counter

from newapi.routing.select import pick

TIERS = (((1, 1), (2, 2), (3, 7)), ((4, 5), (5, 0)))


def test_top_tier_first_and_failed_channels_excluded() -> None:
    rng = random.Random(1).randrange
    assert pick(TIERS, set(), rng) in {1, 2, 3}
    assert pick(TIERS, {1, 2}, rng) == 3
    # Tier exhausted: the next lower tier, never a skipped one.
    assert pick(TIERS, {1, 2, 3}, rng) == 4
    assert pick(TIERS, {1, 2, 3, 4, 5}, rng) is None


def test_weight_zero_is_standby() -> None:
    rng = random.Random(2).randrange
    picks = {pick(TIERS, {1, 2, 3}, rng) for _ in range(500)}
    assert picks == {4}  # 5 has weight 0 while 4 is available
    assert pick(TIERS, {1, 2, 3, 4}, rng) == 5  # ...and takes over once 4 failed


def test_all_zero_weights_are_uniform() -> None:
    rng = random.Random(3).randrange
    counts = Counter(pick((((7, 0), (8, 0)),), set(), rng) for _ in range(4000))
    assert abs(counts[7] - 2000) < 200


def test_weights_are_fair_chi_square() -> None:
    """100,000 picks through the real code against 1:2:7; fails if the draw is biased."""
    rng = random.Random(12345).randrange
    draws = 100_000
    counts = Counter(pick(TIERS, set(), rng) for _ in range(draws))
    expected = {1: draws * 0.1, 2: draws * 0.2, 3: draws * 0.7}
    chi2 = sum((counts[c] - e) ** 2 / e for c, e in expected.items())
    p_value = math.exp(-chi2 / 2)  # exact survival function for 2 degrees of freedom
    assert p_value > 0.001, (counts, chi2)
    assert set(counts) == {1, 2, 3}


def test_a_biased_picker_would_fail_the_fairness_check() -> None:
    """The statistic above can fail: a picker that ignores weights is rejected by it."""
    rng = random.Random(5)
    draws = 100_000
    counts = Counter(rng.choice((1, 2, 3)) for _ in range(draws))
    expected = {1: draws * 0.1, 2: draws * 0.2, 3: draws * 0.7}
    chi2 = sum((counts[c] - e) ** 2 / e for c, e in expected.items())
    assert math.exp(-chi2 / 2) < 0.001
