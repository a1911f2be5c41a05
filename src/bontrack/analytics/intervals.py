"""Confidence intervals for rates and means, returned as named results.

Examples
--------
>>> r = wilson_interval(8, 20)
>>> round(r.estimate, 4), round(r.low, 4), round(r.high, 4)
(0.4, 0.2188, 0.6134)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.distributions import normal_quantile, t_quantile


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval.

    Attributes
    ----------
    estimate, low, high : float
        Point estimate and interval bounds (nan when there is no data).
    n : int
        Number of observations behind the estimate.
    confidence : float
        Confidence level, e.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    n: int
    confidence: float


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion (Wilson 1927); better than Wald at small n or rates near 0/1.

    Parameters
    ----------
    successes, n : int
        Number of responders and number judged; 0 <= successes <= n.
    confidence : float
        Two-sided confidence level.
    """
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), got {successes}")
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    z = normal_quantile(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding error must not put it past the estimate.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, n, confidence)


def mean_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval (nan bounds with fewer than two values; None and nan are
    left out)."""
    if isinstance(values, np.ndarray):  # a column's values, as they are
        given = values.astype(float, copy=False)
    else:
        given = np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    xs = given[~np.isnan(given)]
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    # the sums added one by one in order (cumsum), as Python's sum adds them: the same float
    mean = float(np.cumsum(xs)[-1]) / n
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, confidence)
    deviations = xs - mean
    sd = math.sqrt(float(np.cumsum(deviations * deviations)[-1]) / (n - 1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, confidence)


@dataclass(frozen=True)
class ClusteredInterval:
    """An estimate over observations grouped in clusters (cycles within patients).

    Attributes
    ----------
    estimate, low, high : float
        Point estimate and interval (nan bounds when there are fewer than two clusters).
    n : int
        Observations (judged cycles).
    k : int
        Clusters (patients).
    n_eff : float
        Effective sample size behind a proportion's interval (``n`` for a mean).
    """

    estimate: float
    low: float
    high: float
    n: int
    k: int
    n_eff: float
    confidence: float


def _wilson_bounds(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if p == 0 else max(0.0, centre - half)
    high = 1.0 if p == 1 else min(1.0, centre + half)
    return low, high


def clustered_wilson(
    successes: Sequence[int] | np.ndarray, sizes: Sequence[int] | np.ndarray, confidence: float = 0.95
) -> ClusteredInterval:
    """Wilson's interval with the effective sample size of clustered binary data.

    Cluster i (a patient) has ``successes[i]`` responders among ``sizes[i]`` judged cycles;
    k clusters, n = sum m_i, p = sum y_i / n. The between-cluster variance of p is
    ``v = k/(k-1) * sum_i (y_i - p m_i)^2 / n^2`` and ``n_eff = min(n, p(1-p)/v)`` (``n`` when
    v = 0 or p is 0 or 1); the interval is Wilson's with ``n_eff`` in place of n. nan bounds with
    fewer than two clusters.

    Examples
    --------
    Two patients: 2 of 2 and 0 of 1 cycles responded. p = 2/3; y_i - p m_i = 2/3 and -2/3;
    v = 2/1 * (8/9) / 9 = 16/81; n_eff = (2/9) / (16/81) = 1.125.

    >>> r = clustered_wilson([2, 0], [2, 1])
    >>> round(r.estimate, 4), r.k, r.n, round(r.n_eff, 4)
    (0.6667, 2, 3, 1.125)
    """
    if len(successes) != len(sizes):
        raise ValueError("successes and sizes need one entry per cluster")
    ys = np.asarray(successes, dtype=np.int64)
    ms = np.asarray(sizes, dtype=np.int64)
    if np.any((ys < 0) | (ys > ms)):
        raise ValueError("each cluster's successes must be between 0 and its size")
    n = int(ms.sum())
    k = int((ms > 0).sum())
    if n == 0:
        return ClusteredInterval(math.nan, math.nan, math.nan, 0, 0, 0.0, confidence)
    p = int(ys.sum()) / n
    if k < 2:
        return ClusteredInterval(p, math.nan, math.nan, n, k, math.nan, confidence)
    # the squares added one by one in order (cumsum), as Python's sum would: the same float
    residual = ys - p * ms
    v = k / (k - 1) * float(np.cumsum(residual * residual)[-1]) / (n * n)
    n_eff = float(n) if v == 0 or p in (0.0, 1.0) else min(float(n), p * (1 - p) / v)
    z = normal_quantile(0.5 + confidence / 2)
    low, high = _wilson_bounds(p, n_eff, z)
    return ClusteredInterval(p, low, high, n, k, n_eff, confidence)


def clustered_mean_interval(
    values: Sequence[float] | np.ndarray, clusters: Sequence[object] | np.ndarray, confidence: float = 0.95
) -> ClusteredInterval:
    """Mean with a cluster-robust standard error and a t interval on k - 1 degrees of freedom.

    ``se^2 = k/(k-1) * sum_i (sum_j (x_ij - mean))^2 / n^2`` over the k clusters (patients).
    nan bounds with fewer than two clusters.

    Examples
    --------
    >>> r = clustered_mean_interval([1.0, 3.0, 5.0], ["a", "a", "b"])
    >>> r.estimate, r.k, round((r.high - r.low) / 2, 4)
    (3.0, 2, 16.9416)
    """
    if len(values) != len(clusters):
        raise ValueError("values and clusters need one entry each")
    xs = np.asarray(values, dtype=float)
    keep = ~np.isnan(xs)
    xs = xs[keep]
    n = len(xs)
    if n == 0:
        return ClusteredInterval(math.nan, math.nan, math.nan, 0, 0, 0.0, confidence)
    # sums added one by one in order (cumsum, bincount), as Python's sum would: the same float
    mean = float(np.cumsum(xs)[-1]) / n
    if isinstance(clusters, np.ndarray) and clusters.dtype != object:  # numbers (coded ids): as they are
        found, _ = pd.factorize(clusters[keep], use_na_sentinel=False)
    else:
        found, _ = pd.factorize(
            pd.Series(np.asarray(clusters, dtype=object)[keep], dtype=object), use_na_sentinel=False
        )
    k = int(found.max()) + 1
    if k < 2:
        return ClusteredInterval(mean, math.nan, math.nan, n, k, float(n), confidence)
    sums = np.bincount(found, weights=xs - mean, minlength=k)
    se = math.sqrt(k / (k - 1) * float(np.cumsum(sums * sums)[-1]) / (n * n))
    half = t_quantile(0.5 + confidence / 2, k - 1) * se
    return ClusteredInterval(mean, mean - half, mean + half, n, k, float(n), confidence)
