"""``analytics.codes``: the same codes, counts and groups as pandas makes them, whether the
values are marked by flags (integers of a small span) or left to pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.analytics import codes
from bontrack.analytics.codes import distinct_count, groups, sorted_codes

_rng = np.random.default_rng(5)
ARRAYS = [
    np.array([5, 5, 7, -1, -1, 7, 5, 9, 10, 0]),  # codes, -1 for a missing patient
    _rng.integers(-1, 50_000, 100_000),  # many: flags
    np.array([2**40, 3, 3, -(2**40), 17]),  # too wide for flags: pandas
    np.array([3.0, np.nan, 1.0, 3.0, -0.0, 0.0]),  # whole floats and a missing one (session codes)
    np.array([0.5, 0.5, 1.0, np.nan]),  # fractions
    np.array(["b", "a", None, "b", "c"], dtype=object),
    np.array([], dtype=np.int64),
    np.array([7], dtype=np.int32),
]


@pytest.mark.parametrize("values", ARRAYS)
def test_sorted_codes_and_distinct_count__as_pandas(values: np.ndarray) -> None:
    found, uniques = sorted_codes(values)
    expected, expected_uniques = pd.factorize(values, sort=True)
    assert found.tolist() == expected.tolist()
    assert np.asarray(uniques).tolist() == np.asarray(expected_uniques).tolist()
    assert distinct_count(values) == pd.Series(values).nunique()


@pytest.mark.parametrize("values", ARRAYS)
def test_groups__as_groupby_sort_true(values: np.ndarray) -> None:
    got = [(key, rows.tolist()) for key, rows in groups(values)]
    expected = [
        (key, list(rows)) for key, rows in pd.Series(values).groupby(values, sort=True).indices.items()
    ]
    assert [k for k, _ in got] == [k for k, _ in expected]
    assert [r for _, r in got] == [r for _, r in expected]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=60), st.integers(1, 64))
def test_flags_and_hash__the_same_answers(values: list[int], limit: int) -> None:
    array = np.array(values, dtype=np.int64)
    hashed, hashed_uniques = pd.factorize(array, sort=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codes, "DENSE_SPAN", limit)  # (some spans past it: pandas; others flags)
        found, uniques = sorted_codes(array)
        assert found.tolist() == hashed.tolist()
        assert uniques.tolist() == hashed_uniques.tolist()
        assert distinct_count(array) == len(set(values))


@pytest.mark.parametrize(
    "values",
    [
        np.array([5, 10, 9, 1, 0, -1, -10, -2, 100, 11, -100, 99, 999, 10**17 - 1, -(10**17 - 1)]),
        _rng.integers(-(10**17), 10**17, 20_000),
        _rng.integers(-1, 2_000_000, 50_000),  # (ties: kept in their order)
        np.array([10**18, 3, 20]),  # past 18 digits: by their texts
        np.array(["b10", "b9", "a"], dtype=object),
        np.array([], dtype=np.int64),
    ],
)
def test_text_order__as_the_texts_sort(values: np.ndarray) -> None:
    from bontrack.analytics.codes import text_order

    expected = np.argsort(values.astype(str), kind="stable")
    assert text_order(values).tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("values", "wanted"),
    [
        (np.array([5, 7, -1, 9, 5]), np.array([5, 9, 100])),
        (np.array([3.0, 1.0, 2.0]), np.array([1, 3])),  # whole floats (session codes) and integers
        (np.array([3.0, np.nan, 2.0]), np.array([np.nan, 2.0])),  # a missing value: pandas
        (np.array([0.5, 1.0]), np.array([0.5])),
        (np.array([2**40, 3]), np.array([3])),  # too wide for flags
        (np.array(["a", "b"], dtype=object), np.array(["b"], dtype=object)),
        (np.array([], dtype=np.int64), np.array([1])),
        (np.array([1, 2]), np.array([], dtype=np.int64)),
        (_rng.integers(-1, 50_000, 100_000), _rng.integers(0, 60_000, 5_000)),
    ],
)
def test_isin__as_pandas(values: np.ndarray, wanted: np.ndarray) -> None:
    from bontrack.analytics.codes import isin

    assert isin(values, wanted).tolist() == pd.Series(values).isin(wanted).tolist()


@pytest.mark.parametrize(
    ("index", "values"),
    [
        (np.array([5.0, 7.0, 1.0, 9.0]), np.array([9.0, 2.0, 5.0, 12.0, -3.0, 1.0])),  # session codes
        (np.array([3, 1, 2]), np.array([1.0, 2.5, 3.0])),  # a fraction: pandas
        (np.array([2**40, 3]), np.array([3, 2**40, 4])),  # too wide for an array of places
        (np.array(["a", "b"], dtype=object), np.array(["b", "c"], dtype=object)),
        (np.array([], dtype=np.int64), np.array([1])),
        (_rng.permutation(60_000)[:40_000].astype(float), _rng.integers(-5, 70_000, 10_000).astype(float)),
    ],
)
def test_positions_and_all_distinct__as_pandas(index: np.ndarray, values: np.ndarray) -> None:
    from bontrack.analytics.codes import all_distinct, positions

    expected = pd.Index(index).get_indexer(pd.Index(values))
    assert positions(index, values).tolist() == expected.tolist()
    assert all_distinct(index) is True
    assert all_distinct(np.concatenate([index, index[:1]])) is (len(index) == 0)
    assert all_distinct(np.array([1.0, np.nan, np.nan])) is False  # (pandas: NaN twice is a repeat)
