"""Values coded by their rank among the distinct values, and split into groups, as pandas'
``factorize(sort=True)`` and ``groupby(sort=True)`` make them, quicker for the report's columns.

The report's patient and session ids are integer codes (reports.sections.frames.coded) and its
weeks and cycles small integers: their distinct values are found by marking each in an array of
flags (one pass, no hash), when the values span at most ``DENSE_SPAN`` (or four a row); any other
column is left to pandas. The results are the same arrays either way (tests/analytics/test_codes.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

DENSE_SPAN = 2**24  # integers spanning at most this many (or four a row): flags, not a hash


def _span(values: np.ndarray) -> tuple[int, int] | None:
    """The least value and the span of integer ``values`` when flags may mark them, else None."""
    if not len(values) or not np.issubdtype(values.dtype, np.integer):
        return None
    low = int(values.min())
    span = int(values.max()) - low + 1
    return (low, span) if span <= max(DENSE_SPAN, 4 * len(values)) else None


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``: each value's rank among the distinct values (-1 for
    a missing one) and the distinct values in order."""
    dense = dense_codes(values)
    if dense is not None:
        return dense
    codes, uniques = pd.factorize(values, sort=True)
    return codes, np.asarray(uniques)


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``sorted_codes`` of integer ``values`` by flags; None when they are not integers spanning
    few enough."""
    dense = _span(values)
    if dense is None:
        return None
    low, span = dense
    offset = values.astype(np.int64) - low
    marked = np.zeros(span, dtype=bool)
    marked[offset] = True
    rank = np.cumsum(marked) - 1  # (each marked value's place among them)
    return rank[offset], (np.flatnonzero(marked) + low).astype(values.dtype)


def distinct_count(values: np.ndarray) -> int:
    """``pd.Series(values).nunique()``: the distinct values, a missing one not counted (whole
    numbers as floats, the report's session codes, counted as integers)."""
    if values.dtype.kind == "f":
        present = values[~np.isnan(values)]
        whole = present.astype(np.int64) if bool(np.isfinite(present).all()) else present
        if bool((whole == present).all()):  # (each a whole number within int64's range)
            values = whole
    dense = _span(values)
    if dense is None:
        return int(pd.Series(values).nunique())
    low, span = dense
    marked = np.zeros(span, dtype=bool)
    marked[values.astype(np.int64) - low] = True
    return int(np.count_nonzero(marked))


def groups(keys: np.ndarray) -> Iterator[tuple[object, np.ndarray]]:
    """``groupby(keys, sort=True)``'s groups: each distinct key, in order (a missing key in
    none), and the positions of its rows, in their order."""
    codes, uniques = sorted_codes(keys)
    # (codes in the smallest integers that hold them: numpy's stable sort of them is a radix sort)
    narrow = codes.astype(np.int16) if len(uniques) < 2**15 else codes
    order = np.argsort(narrow, kind="stable")
    bounds = np.searchsorted(narrow[order], np.arange(len(uniques) + 1))
    for i, key in enumerate(uniques):
        yield key, order[bounds[i] : bounds[i + 1]]


_TEXT_DIGITS = 18  # integers of at most this many digits are ordered as text without the text
_POWERS = np.array([10**d for d in range(1, _TEXT_DIGITS)], dtype=np.int64)


def text_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values.astype(str), kind="stable")``: the positions of ``values`` in the order
    of their texts. Of integers, without making the texts: a number's digits left-aligned (as
    text compares them: "10" before "9"), a shorter one first at a tie ("1" before "10"), the
    negative ones ("-" before any digit) first, ordered so by their digits too."""
    if not len(values) or not np.issubdtype(values.dtype, np.integer):
        return np.argsort(np.asarray(values).astype(str), kind="stable")
    if int(values.min()) <= -(10**_TEXT_DIGITS) or int(values.max()) >= 10**_TEXT_DIGITS:
        return np.argsort(np.asarray(values).astype(str), kind="stable")
    size = np.abs(values.astype(np.int64))
    # each number's count of digits: 1 and the powers of ten 10, 100, ... it reaches
    digits = 1 + np.searchsorted(_POWERS, size, side="right").astype(np.int64)
    aligned = size * (10 ** (_TEXT_DIGITS - digits))  # (at most 18 digits: within int64)
    positive = (values >= 0).astype(np.int64)
    return np.lexsort((digits, aligned, positive))


def _integers(values: np.ndarray) -> np.ndarray | None:
    """``values`` as int64 when each is an integer (or a float that is a whole number; none
    missing), else None."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64, copy=False)
    if values.dtype.kind == "f":
        if not bool(np.isfinite(values).all()):
            return None
        whole = values.astype(np.int64)
        return whole if bool((whole == values).all()) else None
    return None


def isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``pd.Series(values).isin(wanted)``'s flags. Of integers (the report's codes, also as
    whole floats): each wanted one marked in an array of flags, each value's flag read (no hash)."""
    v, w = _integers(values), _integers(wanted)
    if v is None or w is None or not len(v) or not len(w):
        return np.asarray(pd.Series(values).isin(wanted).to_numpy(), dtype=bool)
    low = min(int(v.min()), int(w.min()))
    span = max(int(v.max()), int(w.max())) - low + 1
    if span > max(DENSE_SPAN, 4 * (len(v) + len(w))):
        return np.asarray(pd.Series(values).isin(wanted).to_numpy(), dtype=bool)
    marked = np.zeros(span, dtype=bool)
    marked[w - low] = True
    flags: np.ndarray = marked[v - low]
    return flags


def all_distinct(values: np.ndarray) -> bool:
    """``pd.Series(values).is_unique``: no value twice (integers, or whole floats: by flags)."""
    v = _integers(values)
    if v is None or _span(v) is None:
        return bool(pd.Series(values).is_unique)
    return distinct_count(v) == len(v)


def positions(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``pd.Index(index).get_indexer(values)`` of distinct ``index`` values: each value's position
    in ``index``, -1 when it is not there. Of integers (or whole floats), by an array of the
    positions, one place a possible value."""
    i, v = _integers(index), _integers(values)
    dense = _span(i) if i is not None and v is not None else None
    if i is None or v is None or dense is None:
        found: np.ndarray = pd.Index(index).get_indexer(pd.Index(values))
        return found
    low, span = dense
    at = np.full(span, -1, dtype=np.intp)
    at[i - low] = np.arange(len(i))
    offset = v - low
    inside = (offset >= 0) & (offset < span)
    out = np.full(len(v), -1, dtype=np.intp)
    out[inside] = at[offset[inside]]
    return out
