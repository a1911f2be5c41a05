"""The quantiles and tails the report computes without scipy.stats are scipy.stats' own floats,
compared exactly (not approximately) over the probabilities, degrees of freedom and statistics
the analytics ask for and their edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bontrack.analytics.distributions import chi2_sf, normal_quantile, normal_sf, t_quantile, t_sf

RNG = np.random.default_rng(20261203)
PROBABILITIES = [0.0, 1e-300, 1e-12, 0.025, 0.05, 0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 1 - 1e-12, 1.0]
PROBABILITIES += [float(p) for p in RNG.uniform(0, 1, 40)] + [math.nan, -0.1, 1.5]
DEGREES = [1, 2, 3, 5, 9, 29, 30, 120, 1e6, 0.5, 1e-300, 1e300, math.inf, 0, -1, math.nan]
DEGREES += [float(d) for d in RNG.uniform(1, 200, 20)]  # Welch's fractional degrees of freedom
STATISTICS = [0.0, -0.0, 1e-300, 0.5, 1.96, 3.2, 40.0, 1e300, math.inf, -math.inf, -1.0, math.nan]
STATISTICS += [float(x) for x in RNG.normal(0, 3, 30)]


def _same(ours: float, theirs: float) -> bool:
    return ours == theirs or (math.isnan(ours) and math.isnan(float(theirs)))


@pytest.mark.parametrize("p", PROBABILITIES)
def test_normal_quantile_is_scipy_stats_float_for_float(p: float) -> None:
    assert _same(normal_quantile(p), float(stats.norm.ppf(p)))


@pytest.mark.parametrize("df", DEGREES)
def test_t_quantile_is_scipy_stats_float_for_float(df: float) -> None:
    for p in PROBABILITIES:
        assert _same(t_quantile(p, df), float(stats.t.ppf(p, df))), (p, df)


@pytest.mark.parametrize("x", STATISTICS)
def test_tails_are_scipy_stats_float_for_float(x: float) -> None:
    assert _same(normal_sf(x), float(stats.norm.sf(x))), x
    for df in DEGREES:
        assert _same(t_sf(x, df), float(stats.t.sf(x, df))), (x, df)
        assert _same(chi2_sf(x, df), float(stats.chi2.sf(x, df))), (x, df)


def test_the_textbook_values() -> None:
    # the 97.5% points printed in every table: z 1.959964, t(10) 2.228139, t(1) 12.706205
    assert round(normal_quantile(0.975), 6) == 1.959964
    assert round(t_quantile(0.975, 10), 6) == 2.228139
    assert round(t_quantile(0.975, 1), 6) == 12.706205
    assert round(chi2_sf(3.841459, 1), 6) == 0.05
