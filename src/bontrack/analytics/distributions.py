"""Quantiles of the normal and Student's t distributions, the same floats as ``scipy.stats``
gives (its ``norm.ppf`` and ``t.ppf`` call these special functions), without importing
``scipy.stats``: that import alone costs about 1.3 s of CPU more than ``scipy.special``, paid by
every ``bontrack report`` at start.

Examples
--------
>>> round(normal_quantile(0.975), 6), round(t_quantile(0.975, 10), 6)
(1.959964, 2.228139)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import special


def normal_quantile(p: float) -> float:
    """The standard normal's quantile at probability ``p`` (``scipy.stats.norm.ppf(p)``)."""
    return float(special.ndtri(p))


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile at probability ``p`` with ``df`` degrees of freedom
    (``scipy.stats.t.ppf(p, df)``; nan when ``df`` is not positive)."""
    if p == 0 and df > 0:  # the lower end, as scipy.stats answers it (stdtrit alone says +inf)
        return -math.inf
    return float(special.stdtrit(df, p))


def normal_sf(x: float) -> float:
    """The standard normal's upper tail beyond ``x`` (``scipy.stats.norm.sf(x)``)."""
    return float(special.ndtr(-x))


def t_sf(x: float, df: float) -> float:
    """Student's t upper tail beyond ``x`` with ``df`` degrees of freedom
    (``scipy.stats.t.sf``; nan when ``df`` is not positive)."""
    return float(special.stdtr(df, -x))


def chi2_sf(x: float, df: float) -> float:
    """The chi-squared upper tail beyond ``x`` with ``df`` degrees of freedom
    (``scipy.stats.chi2.sf``; nan when ``df`` is not positive)."""
    return _tail(x, 0.0, df, lambda: special.chdtrc(df, x))


def _tail(x: float, lowest: float, df: float, inside: Callable[[], float]) -> float:
    """As scipy.stats answers a tail: nan for a bad ``df`` or ``x``; 1 at or below the lowest
    value the distribution takes, 0 at infinity; else the special function's value."""
    if not df > 0 or math.isnan(x):
        return math.nan
    if x <= lowest:
        return 1.0
    return 0.0 if x == math.inf else float(inside())
