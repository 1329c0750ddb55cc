"""Pure statistics for the bench: percentiles, chi-square goodness of fit, share deviation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0-100) of ``samples``; None when empty."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def p50_p99(samples: Sequence[float]) -> tuple[float | None, float | None]:
    ordered = sorted(samples)
    return percentile(ordered, 50), percentile(ordered, 99)


def _lower_series(a: float, x: float) -> float:
    """The regularized lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(10_000):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """The regularized upper incomplete gamma Q(a, x) by Lentz's continued fraction."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for a chi-square distribution with ``dof`` degrees of freedom."""
    if dof <= 0:
        raise ValueError("dof must be positive")
    if statistic <= 0:
        return 1.0
    a, x = dof / 2, statistic / 2
    if x < a + 1:
        return max(0.0, 1.0 - _lower_series(a, x))
    return _upper_fraction(a, x)


def chi_square(observed: Mapping[str, int], weights: Mapping[str, float]) -> tuple[float, float]:
    """(statistic, p-value) of ``observed`` counts against shares proportional to ``weights``."""
    total = sum(observed.get(name, 0) for name in weights)
    weight_sum = sum(weights.values())
    if total == 0 or len(weights) < 2:
        raise ValueError("need at least two categories and one observation")
    statistic = 0.0
    for name, weight in weights.items():
        expected = total * weight / weight_sum
        statistic += (observed.get(name, 0) - expected) ** 2 / expected
    return statistic, chi2_sf(statistic, len(weights) - 1)


def largest_share_deviation(observed: Mapping[str, int], weights: Mapping[str, float]) -> float:
    """The largest |observed share - configured share| over the categories (0..1)."""
    total = sum(observed.get(name, 0) for name in weights)
    weight_sum = sum(weights.values())
    if total == 0:
        return 1.0
    return max(
        abs(observed.get(name, 0) / total - weight / weight_sum) for name, weight in weights.items()
    )


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def added(value: float | None, baseline: float | None) -> float | None:
    if value is None or baseline is None:
        return None
    return value - baseline
