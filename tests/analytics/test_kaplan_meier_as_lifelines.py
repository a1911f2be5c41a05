"""``analytics.duration.kaplan_meier`` computes what lifelines' ``KaplanMeierFitter`` computes, float
for float (``==``, not approximately): the curve, its log-log band, the median and the median's
interval, over random durations with ties, censoring, zeros, all censored, all events, one row,
and fractional days. lifelines is the reference here; the report no longer imports it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from bontrack.analytics.duration import kaplan_meier


def _lifelines(durations: list[float], observed: list[bool], confidence: float) -> dict[str, object]:
    kmf = KaplanMeierFitter(alpha=1 - confidence)
    kmf.fit(pd.Series(durations).astype(float), event_observed=pd.Series(observed).astype(bool))
    ci = kmf.confidence_interval_
    med_ci = median_survival_times(ci)
    return {
        "timeline": kmf.survival_function_.index.to_numpy(),
        "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
        "ci_low": ci.iloc[:, 0].to_numpy(),
        "ci_high": ci.iloc[:, 1].to_numpy(),
        "median": float(kmf.median_survival_time_),
        "median_low": float(med_ci.iloc[0, 0]),
        "median_high": float(med_ci.iloc[0, 1]),
    }


def _same(durations: list[float], observed: list[bool], confidence: float = 0.95) -> None:
    ours = kaplan_meier(pd.Series(durations), pd.Series(observed), confidence)
    theirs = _lifelines(durations, observed, confidence)
    for name in ("timeline", "survival", "ci_low", "ci_high"):
        got, want = getattr(ours, name), theirs[name]
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want), (name, got, want)  # exactly, float for float
    for name in ("median", "median_low", "median_high"):
        assert getattr(ours, name) == theirs[name], name
    assert ours.n == len(durations)
    assert ours.events == sum(observed)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.booleans()), min_size=1, max_size=80))
def test_kaplan_meier__equals_lifelines_on_whole_days(data: list[tuple[int, bool]]) -> None:
    _same([float(d) for d, _ in data], [o for _, o in data])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 400, allow_nan=False, allow_infinity=False), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_kaplan_meier__equals_lifelines_on_fractional_times_and_other_levels(
    data: list[tuple[float, bool]], confidence: float
) -> None:
    _same([d for d, _ in data], [o for _, o in data], confidence)


@pytest.mark.parametrize(
    ("durations", "observed"),
    [
        ([84.0], [True]),  # one row, an event
        ([84.0], [False]),  # one row, censored
        ([10.0, 20.0, 30.0], [False, False, False]),  # all censored: median never reached
        ([10.0, 10.0, 10.0], [True, True, True]),  # all die at once: S = 0
        ([0.0, 0.0, 5.0, 5.0], [True, False, True, False]),  # events at the start
        ([42.0, 42.0, 84.0, 84.0, 84.0, 126.0], [True, False, True, True, False, True]),  # the visits' ties
    ],
)
def test_kaplan_meier__equals_lifelines_at_the_edges(durations: list[float], observed: list[bool]) -> None:
    _same(durations, observed)


def test_kaplan_meier__median_not_reached_is_infinite_and_a_missing_time_is_refused() -> None:
    km = kaplan_meier(pd.Series([10.0, 20.0]), pd.Series([False, True]))
    assert math.isinf(km.median_low) or km.median_low == 20.0
    assert kaplan_meier(pd.Series([10.0, 20.0]), pd.Series([False, False])).median == math.inf
    with pytest.raises(ValueError, match="finite"):
        kaplan_meier(pd.Series([10.0, float("nan")]), pd.Series([True, True]))
