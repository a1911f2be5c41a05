"""Random-effects meta-analysis of study effects, checked against metafor's published output.

``pool`` fits the intercept-only random-effects model of metafor's ``rma`` (Viechtbauer 2010,
J Stat Softw 36(3)):

- tau^2 by DerSimonian-Laird (``DL``) or restricted maximum likelihood (``REML``, Fisher scoring
  from the DL value, truncated at 0, as ``rma`` does);
- Cochran's Q from fixed-effect weights, with its chi-square(k-1) p-value;
- I^2 = 100 tau^2 / (tau^2 + s^2), s^2 = (k-1) sum(w) / ((sum w)^2 - sum(w^2)), w = 1/vi
  (metafor's definition for random-effects models; equal to (Q-(k-1))/Q for DL only);
- a Wald z confidence interval, or with ``hksj=True`` the Hartung-Knapp(-Sidik-Jonkman)
  standard error sqrt(sum W (y - mu)^2 / ((k-1) sum W)) and a t(k-1) interval, without a floor,
  as ``rma(test="knha")``.

With a single study there is nothing to pool: the result is that study, tau^2 = 0, I^2 = 0,
Q = 0 with no p-value; HKSJ is refused (t with 0 degrees of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from bontrack.analytics.distributions import chi2_sf, normal_quantile, normal_sf, t_quantile, t_sf
from bontrack.analytics.effect_sizes import RATIO_MEASURES, EffectSize

Method = Literal["REML", "DL"]
METHODS: tuple[Method, ...] = ("REML", "DL")

REML_TOLERANCE = 1e-10
REML_MAX_ITERATIONS = 1000


class PoolingError(ValueError):
    """The effects cannot be pooled as asked; the message says why."""


@dataclass(frozen=True)
class PooledEffect:
    """A random-effects summary. Ratio measures are on the log scale; ``exp_*`` are beside them.

    Attributes
    ----------
    k : number of studies.
    estimate, se, ci_low, ci_high : pooled effect, its standard error and 95% interval.
    tau2 : between-study variance. i2 : I^2 in percent. q, q_p : Cochran's Q and its p-value.
    z_or_t, p : test statistic of the pooled effect and its two-sided p-value.
    method : ``REML`` or ``DL``; ``hksj`` whether the Hartung-Knapp interval was used.
    measure : effect measure label (``SMD``, ``MD``, ``RR``, ``OR`` or ``GEN``).
    """

    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    q: float
    q_p: float | None
    z_or_t: float
    p: float
    method: Method
    hksj: bool
    measure: str
    df: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields; ratio measures add ``exp_estimate``, ``exp_ci_low``, ``exp_ci_high``."""
        out = {key: _finite_or_none(value) for key, value in asdict(self).items()}
        if self.measure in RATIO_MEASURES:
            out["exp_estimate"] = math.exp(self.estimate)
            out["exp_ci_low"] = math.exp(self.ci_low)
            out["exp_ci_high"] = math.exp(self.ci_high)
        return out


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: undefined statistics are written as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def cochran_q(yi: np.ndarray, vi: np.ndarray) -> float:
    """Cochran's Q with fixed-effect weights 1/vi."""
    w = 1 / vi
    mu = float(np.sum(w * yi) / np.sum(w))
    return float(np.sum(w * (yi - mu) ** 2))


def tau2_dersimonian_laird(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian-Laird moment estimate of tau^2, truncated at 0."""
    w = 1 / vi
    denominator = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    if denominator <= 0:
        return 0.0
    return max(0.0, (cochran_q(yi, vi) - (len(yi) - 1)) / denominator)


def tau2_reml(yi: np.ndarray, vi: np.ndarray) -> float:
    """REML estimate of tau^2 by Fisher scoring from the DL value, truncated at 0 (as metafor).

    If scoring does not settle within ``REML_MAX_ITERATIONS``, the restricted likelihood is
    maximized directly (bounded search); ``PoolingError`` if that fails too.
    """
    tau2 = tau2_dersimonian_laird(yi, vi)
    for _ in range(REML_MAX_ITERATIONS):
        w = 1 / (vi + tau2)
        # P = W - W 1 1' W / sum(W), the REML projection for the intercept-only model
        p_matrix = np.diag(w) - np.outer(w, w) / np.sum(w)
        py = p_matrix @ yi
        score = float(py @ py - np.trace(p_matrix))
        information = float(np.sum(p_matrix * p_matrix))
        new = max(0.0, tau2 + score / information)
        if abs(new - tau2) < REML_TOLERANCE:
            return new
        tau2 = new
    return _tau2_reml_by_search(yi, vi)


def restricted_log_likelihood(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """REML log-likelihood of the intercept-only random-effects model, up to a constant."""
    w = 1 / (vi + tau2)
    mu = float(np.sum(w * yi) / np.sum(w))
    return -0.5 * float(np.sum(np.log(vi + tau2)) + math.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2))


def _tau2_reml_by_search(yi: np.ndarray, vi: np.ndarray) -> float:
    # Fisher scoring can oscillate (e.g. one precise outlier among equal studies); then maximize
    # the restricted likelihood directly over [0, upper], upper well beyond any plausible tau^2.
    from scipy import optimize

    upper = 10 * (float(np.var(yi)) + float(np.max(vi))) + 1.0
    found = optimize.minimize_scalar(
        lambda t: -restricted_log_likelihood(yi, vi, t),
        bounds=(0.0, upper),
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 2000},
    )
    best = float(found.x)
    if restricted_log_likelihood(yi, vi, 0.0) >= restricted_log_likelihood(yi, vi, best):
        return 0.0
    if not found.success:
        raise PoolingError("REML estimate of tau^2 could not be found (no convergence)")
    return best


def i_squared(vi: np.ndarray, tau2: float) -> float:
    """I^2 in percent from tau^2 and metafor's typical within-study variance."""
    k = len(vi)
    if k < 2:
        return 0.0
    w = 1 / vi
    typical = (k - 1) * float(np.sum(w)) / (float(np.sum(w)) ** 2 - float(np.sum(w**2)))
    return 100 * tau2 / (tau2 + typical)


def pool(
    effects: Sequence[EffectSize],
    *,
    method: Method = "REML",
    hksj: bool = False,
    measure: str = "GEN",
    level: float = 0.95,
) -> PooledEffect:
    """Random-effects pooled estimate of study effects.

    Parameters
    ----------
    effects : per-study ``EffectSize`` (yi, vi); vi must be positive and finite.
    method : ``"REML"`` (default, as metafor) or ``"DL"``.
    hksj : use the Hartung-Knapp-Sidik-Jonkman standard error and a t(k-1) interval.
    measure : label carried into the result; ``RR``/``OR`` add exponentiated fields.
    level : confidence level of the interval.

    Examples
    --------
    >>> from bontrack.analytics.effect_sizes import EffectSize
    >>> r = pool([EffectSize("a", 0.1, 0.04), EffectSize("b", 0.5, 0.09), EffectSize("c", -0.2, 0.05)])
    >>> r.k, round(r.estimate, 4), round(r.tau2, 4), r.method
    (3, 0.0916, 0.0394, 'REML')
    """
    k = len(effects)
    if k == 0:
        raise PoolingError("no studies to pool")
    if method not in METHODS:
        raise PoolingError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    yi = np.array([e.yi for e in effects], dtype=float)
    vi = np.array([e.vi for e in effects], dtype=float)
    for e in effects:
        if not (math.isfinite(e.yi) and math.isfinite(e.vi) and e.vi > 0):
            raise PoolingError(f"study {e.study!r}: yi must be finite and vi positive, got {e.yi}, {e.vi}")
    if hksj and k < 2:
        raise PoolingError("the Hartung-Knapp interval needs at least 2 studies (t with k-1 df)")

    if k == 1:
        tau2, q, q_p = 0.0, 0.0, None
    else:
        tau2 = tau2_reml(yi, vi) if method == "REML" else tau2_dersimonian_laird(yi, vi)
        q = cochran_q(yi, vi)
        q_p = chi2_sf(q, k - 1)
    w = 1 / (vi + tau2)
    estimate = float(np.sum(w * yi) / np.sum(w))
    alpha = 1 - level
    if hksj:
        df: int | None = k - 1
        se = math.sqrt(float(np.sum(w * (yi - estimate) ** 2)) / ((k - 1) * float(np.sum(w))))
        critical = t_quantile(1 - alpha / 2, k - 1)
        # identical effects give se = 0 (as in metafor); the test statistic is then undefined
        statistic = estimate / se if se > 0 else math.nan
        p = 2 * t_sf(abs(statistic), k - 1) if se > 0 else math.nan
    else:
        df = None
        se = math.sqrt(1 / float(np.sum(w)))
        critical = normal_quantile(1 - alpha / 2)
        statistic = estimate / se
        p = 2 * normal_sf(abs(statistic))
    return PooledEffect(
        k=k,
        estimate=estimate,
        se=se,
        ci_low=estimate - critical * se,
        ci_high=estimate + critical * se,
        tau2=tau2,
        i2=i_squared(vi, tau2),
        q=q,
        q_p=q_p,
        z_or_t=statistic,
        p=p,
        method=method,
        hksj=hksj,
        measure=measure,
        df=df,
    )
