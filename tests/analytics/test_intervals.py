from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bontrack.analytics.intervals import (
    clustered_mean_interval,
    clustered_wilson,
    mean_interval,
    wilson_interval,
)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson__agrees_with_statsmodels(kn: tuple[int, int]) -> None:
    k, n = kn
    r = wilson_interval(k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert r.low == pytest.approx(low, abs=1e-12) and r.high == pytest.approx(high, abs=1e-12)
    assert r.low <= r.estimate <= r.high


def test_wilson__no_data_is_nan_and_impossible_counts_refused() -> None:
    assert math.isnan(wilson_interval(0, 0).estimate)
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson_interval(5, 4)


def test_mean_interval__agrees_with_scipy_t_interval() -> None:
    xs = [2.0, -1.5, 3.25, 0.0, 4.5, 1.0]
    low, high = stats.t.interval(0.95, len(xs) - 1, loc=sum(xs) / len(xs), scale=stats.sem(xs))
    r = mean_interval(xs)
    assert (r.low, r.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert math.isnan(mean_interval([1.0]).low)


def test_clustered_mean_interval__one_value_per_patient_is_the_ordinary_t_interval() -> None:
    # se^2 = k/(k-1) * sum (x - mean)^2 / n^2 = s^2 / n when every patient has one value
    xs = [2.0, -1.5, 3.25, 0.0, 4.5, 1.0]
    r = clustered_mean_interval(xs, list("abcdef"))
    t = mean_interval(xs)
    assert (r.k, r.n) == (6, 6)
    assert (r.low, r.high) == (pytest.approx(t.low, abs=1e-12), pytest.approx(t.high, abs=1e-12))
    assert math.isnan(clustered_mean_interval([1.0, 2.0], ["a", "a"]).low)  # one patient: no interval


def test_clustered_wilson__one_cycle_per_patient_has_n_eff_n_minus_1() -> None:
    # v = n/(n-1) * n p(1-p) / n^2 = p(1-p)/(n-1), so n_eff = n - 1
    r = clustered_wilson([1, 0, 0, 1, 0], [1, 1, 1, 1, 1])
    assert r.n_eff == pytest.approx(4) and r.k == 5
    low, high = proportion_confint(0.4 * 4, 4, method="wilson")
    assert (r.low, r.high) == (pytest.approx(low), pytest.approx(high))


def test_clustered_wilson__all_or_none_keeps_n_and_refuses_impossible_counts() -> None:
    r = clustered_wilson([2, 3], [2, 3])
    assert (r.estimate, r.n_eff, r.high) == (1.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="between 0 and its size"):
        clustered_wilson([3], [2])
