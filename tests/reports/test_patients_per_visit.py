"""``sections.trajectories.patients_per_visit``: the distinct patients at each visit, as pandas'
``groupby(visit).nunique()`` counts them, for every kind of patient column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bontrack.reports.sections.trajectories import patients_per_visit


@pytest.mark.parametrize(
    "patient",
    [
        np.array([5, 5, 7, -1, -1, 7, 5, 9, 2**40, 0]),  # codes, a missing patient (-1), a big one
        np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        np.array(["b", "b", "a", "c", "a", "b", None, "d", "d", "a"], dtype=object),
        np.array([2**62, -(2**62), 1, 1, 2, 2, 3, 3, 4, 4]),  # too wide for one number a pair
    ],
)
def test_patients_per_visit__as_groupby_nunique(patient: np.ndarray) -> None:
    visit = np.array([1006, 1000, 1006, 2000, 1000, 1006, 1006, 2012, 2012, 1000])
    expected = pd.Series(patient).groupby(visit).nunique()
    pd.testing.assert_series_equal(patients_per_visit(visit, patient), expected)


def test_patients_per_visit__many_random_rows() -> None:
    rng = np.random.default_rng(7)
    patient = rng.integers(-1, 50_000, 200_000)
    visit = rng.choice(np.array([1000, 1002, 1006, 1012, 2000, 2006, 3012]), 200_000)
    expected = pd.Series(patient).groupby(visit).nunique()
    pd.testing.assert_series_equal(patients_per_visit(visit, patient), expected)


def test_patients_per_visit__no_rows() -> None:
    empty = np.array([], dtype=np.int64)
    expected = pd.Series(empty).groupby(empty).nunique()
    pd.testing.assert_series_equal(patients_per_visit(empty, empty), expected)


def test_patients_per_visit__past_the_flags_array_by_one_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from bontrack.reports.sections import trajectories

    rng = np.random.default_rng(11)
    patient = rng.integers(-1, 5_000, 50_000)
    visit = rng.choice(np.array([1000, 1006, 2012]), 50_000)
    expected = pd.Series(patient).groupby(visit).nunique()
    monkeypatch.setattr(trajectories, "DENSE_PAIRS", 3 * 5_002 - 1)  # (one place short of them)
    pd.testing.assert_series_equal(patients_per_visit(visit, patient), expected)
    monkeypatch.setattr(trajectories, "DENSE_PAIRS", 3 * 5_002)  # (the flags: just enough)
    pd.testing.assert_series_equal(patients_per_visit(visit, patient), expected)
