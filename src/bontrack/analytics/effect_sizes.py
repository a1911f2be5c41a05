"""Per-study effect sizes and sampling variances, computed as metafor's ``escalc`` does.

Treatment is group 1 and control group 2 throughout, so a negative SMD or MD means a lower mean
under treatment, and a log RR/OR below 0 means fewer events under treatment.

- ``SMD``: Hedges' g, the pooled-SD standardized difference times the exact small-sample
  correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2; variance
  1/n1 + 1/n2 + g^2 / (2 (n1 + n2)) (escalc ``vtype="LS"``, its default).
- ``MD``: m1 - m2 with variance sd1^2/n1 + sd2^2/n2 (escalc default; no equal-variance pooling).
- ``RR``/``OR``: log risk ratio / log odds ratio; 1/2 is added to every cell of a 2x2 table only
  when that table has a zero cell (escalc ``add=1/2, to="only0"``), and studies with no events
  in either arm are kept (``drop00=FALSE``, the default of ``rma``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Measure = Literal["SMD", "MD", "RR", "OR"]
MEASURES: tuple[Measure, ...] = ("SMD", "MD", "RR", "OR")
RATIO_MEASURES = frozenset({"RR", "OR"})


@dataclass(frozen=True)
class EffectSize:
    """One study's effect ``yi`` (log scale for RR/OR) and its sampling variance ``vi``."""

    study: str
    yi: float
    vi: float


def hedges_correction(m: float) -> float:
    """Exact small-sample correction J for Hedges' g with ``m`` degrees of freedom.

    Examples
    --------
    >>> round(hedges_correction(10), 6)
    0.922746
    """
    return math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))


def smd(
    study: str, mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float
) -> EffectSize:
    """Hedges' g (treatment minus control) as escalc ``measure="SMD"``.

    Examples
    --------
    Edinburgh, the first study of metafor's ``dat.normand1999`` (escalc gives -0.3552, 0.0131):

    >>> es = smd("Edinburgh", 55, 47, 155, 75, 64, 156)
    >>> round(es.yi, 4), round(es.vi, 4)
    (-0.3552, 0.0131)
    """
    m = n_t + n_c - 2
    sd_pooled = math.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / m)
    g = hedges_correction(m) * (mean_t - mean_c) / sd_pooled
    return EffectSize(study, g, 1 / n_t + 1 / n_c + g**2 / (2 * (n_t + n_c)))


def mean_difference(
    study: str, mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float
) -> EffectSize:
    """Raw mean difference (treatment minus control) as escalc ``measure="MD"``.

    Examples
    --------
    >>> es = mean_difference("Edinburgh", 55, 47, 155, 75, 64, 156)
    >>> es.yi, round(es.vi, 4)
    (-20, 40.508)
    """
    return EffectSize(study, mean_t - mean_c, sd_t**2 / n_t + sd_c**2 / n_c)


def _cells(events_t: float, n_t: float, events_c: float, n_c: float) -> tuple[float, float, float, float]:
    a, b, c, d = events_t, n_t - events_t, events_c, n_c - events_c
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    return a, b, c, d


def log_risk_ratio(study: str, events_t: float, n_t: float, events_c: float, n_c: float) -> EffectSize:
    """Log risk ratio (treatment over control) as escalc ``measure="RR"``.

    Examples
    --------
    Aronson 1948 in metafor's ``dat.bcg`` (escalc gives -0.8893, 0.3256):

    >>> es = log_risk_ratio("Aronson 1948", 4, 123, 11, 139)
    >>> round(es.yi, 4), round(es.vi, 4)
    (-0.8893, 0.3256)
    """
    a, b, c, d = _cells(events_t, n_t, events_c, n_c)
    n1, n2 = a + b, c + d
    return EffectSize(study, math.log(a / n1) - math.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2)


def log_odds_ratio(study: str, events_t: float, n_t: float, events_c: float, n_c: float) -> EffectSize:
    """Log odds ratio (treatment over control) as escalc ``measure="OR"``.

    Examples
    --------
    >>> es = log_odds_ratio("zero cell", 0, 10, 3, 10)
    >>> round(es.yi, 4), round(es.vi, 4)
    (-2.2824, 2.5143)
    """
    a, b, c, d = _cells(events_t, n_t, events_c, n_c)
    return EffectSize(study, math.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d)
