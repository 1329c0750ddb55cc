"""The bench's pure statistics: percentiles, chi-square p-values, share deviation."""

from __future__ import annotations

import math

import pytest

from bench import stats


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert stats.percentile(samples, 50) == 50.0
    assert stats.percentile(samples, 99) == 99.0
    assert stats.percentile(samples, 100) == 100.0
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert stats.percentile([], 50) is None


@pytest.mark.parametrize(
    ("statistic", "dof", "expected"),
    [
        (2.0, 2, math.exp(-1.0)),  # closed form for 2 degrees of freedom
        (3.841458820694124, 1, 0.05),
        (13.815510557964274, 2, 0.001),
        (20.0, 10, 0.029252688076961),
        (0.5, 3, 0.918891411654676),
        (0.0, 4, 1.0),
    ],
)
def test_chi_square_survival_matches_tables(statistic: float, dof: int, expected: float) -> None:
    assert stats.chi2_sf(statistic, dof) == pytest.approx(expected, rel=1e-9)


def test_chi_square_accepts_exact_shares_and_rejects_skewed_ones() -> None:
    weights = {"a": 1, "b": 2, "c": 7}
    statistic, p_value = stats.chi_square({"a": 1000, "b": 2000, "c": 7000}, weights)
    assert statistic == 0.0 and p_value == 1.0
    _, skewed = stats.chi_square({"a": 1100, "b": 2000, "c": 6900}, weights)
    assert skewed < 0.01
    # A category never observed still counts against the fit.
    _, missing = stats.chi_square({"b": 2000, "c": 8000}, weights)
    assert missing < 1e-100


def test_largest_share_deviation_in_share_units() -> None:
    weights = {"a": 1, "b": 3}
    assert stats.largest_share_deviation({"a": 30, "b": 70}, weights) == pytest.approx(0.05)
    assert stats.largest_share_deviation({}, weights) == 1.0


def test_ratio_and_added_need_both_values() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(3.0, 0.0) is None
    assert stats.added(None, 2.0) is None
    assert stats.added(3.0, 2.0) == 1.0
