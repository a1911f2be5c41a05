from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bontrack.analytics.intervals import mean_interval, wilson_interval


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
