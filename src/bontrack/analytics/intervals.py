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

from scipy import stats


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
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding error must not put it past the estimate.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, n, confidence)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval (nan bounds with fewer than two values)."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = sum(xs) / n
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, confidence)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, confidence)
