"""Trajectories of a score over the visits of a cycle, by a linear mixed model.

Model: ``value = mean[visit] + b[patient] + e`` with ``b ~ N(0, tau2)`` and ``e ~ N(0, sigma2)``,
fitted by REML (restricted maximum likelihood). Visits are the scheduled follow-ups, so the mean
at each visit is estimated without assuming a shape; the random intercept lets each patient keep
their own level and uses every visit a patient attended, which is fairer to dropouts than
analysing completers only.

The fit is exact REML computed in closed form per patient: with a random intercept, each
patient's covariance is ``sigma2 * (I + g J)`` (g = tau2 / sigma2), whose inverse and determinant
are known, so the restricted likelihood profiled over ``sigma2`` and the fixed effects is a
function of ``g`` alone, maximized by a bounded 1-D search. This is the model statsmodels'
``MixedLM`` fits (the tests compare the two), but vectorized over patients, so a 100,000-patient
registry takes seconds instead of many minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from bontrack.analytics.codes import dense_codes, sorted_codes, text_order

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Trajectory:
    """Estimated mean at each visit with 95% intervals, and the model's variance components."""

    visits: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    n_patients: int
    n_observations: int
    patient_variance: float
    residual_variance: float


def visit_frame(cycle_rows: pd.DataFrame, max_cycle: int | None = None) -> pd.DataFrame:
    """Long frame (patient_id, session_id, cycle, weeks, value) from cycle_outcomes, each score once.

    Each cycle's baseline is its week-0 point, then come its follow-ups. A score that is cycle k's
    baseline (the last score on or before injection k) is cycle k's week 0 and is not also a
    follow-up of cycle k-1; a score that is the baseline of two cycles (no score between two
    injections) is the week 0 of the earlier one. ``max_cycle``: only cycles up to it (a score
    that would be the baseline of a later, left-out cycle stays a follow-up of its own).
    """
    columns = ["patient_id", "session_id", "cycle", "weeks", "value"]
    rows = cycle_rows if max_cycle is None else cycle_rows[cycle_rows["cycle"] <= max_cycle]
    base = rows.drop_duplicates("session_id").dropna(subset=["baseline"])
    base = base.sort_values(["patient_id", "cycle"]).drop_duplicates("baseline_obs")
    base = base[["patient_id", "session_id", "cycle", "baseline"]].rename(columns={"baseline": "value"})
    base = base.assign(weeks=0)
    baselines = set(rows.drop_duplicates("session_id").dropna(subset=["baseline"])["baseline_obs"])
    follow = rows[~rows["obs"].isin(baselines)]
    return pd.concat([base[columns], follow[columns]], ignore_index=True).dropna(subset=["value"])


@dataclass(frozen=True)
class _Sums:
    """Sums the restricted likelihood needs, for a design of visit indicators.

    A patient's weight ``c = g / (1 + n g)`` depends only on their number of scores ``n``, so the
    per-patient outer products are summed once per distinct ``n``; each likelihood evaluation then
    costs a few small matrix sums, whatever the number of patients.
    """

    n_obs: int
    n_patients: int  # distinct patients
    p: int
    xtx: np.ndarray  # X'X (diagonal: visit counts)
    xty: np.ndarray  # X'y
    yty: float
    sizes: np.ndarray  # distinct numbers of scores per patient, shape (k,)
    patients: np.ndarray  # patients with each size, shape (k,)
    ss: np.ndarray  # sum over those patients of s s', shape (k, p, p); s = visit counts of a patient
    st: np.ndarray  # sum of s t, shape (k, p); t = a patient's sum of scores
    tt: np.ndarray  # sum of t^2, shape (k,)


def _groups(patient: np.ndarray) -> tuple[int, np.ndarray]:
    """The number of distinct patients and each row's patient as its rank among them, in the
    order of the ids as text (``np.unique`` of the text, as the sums were always made): one pass
    over the rows (integer ids, the report's codes: flags, ``codes.dense_codes``; others one
    hash), then a sort of the distinct ids only, not of every row's text (of integers, not even
    theirs: ``codes.text_order``)."""
    dense = dense_codes(patient)
    found, distinct = dense if dense is not None else pd.factorize(patient)
    rank = np.empty(len(distinct), dtype=np.intp)
    rank[text_order(np.asarray(distinct))] = np.arange(len(distinct))
    return len(distinct), rank[found]


def _sums(patient: np.ndarray, visit: np.ndarray, y: np.ndarray, p: int) -> _Sums:
    n_groups, g_index = _groups(patient)
    # (counts and sums by bincount: np.add.at's sums, in the same order, without its slow loop)
    s = np.bincount(g_index * p + visit, minlength=n_groups * p).reshape(n_groups, p).astype(float)
    t = np.bincount(g_index, weights=y, minlength=n_groups)
    n = s.sum(axis=1)
    sizes, size_index = np.unique(n, return_inverse=True)
    ss = np.zeros((len(sizes), p, p))
    for k in range(len(sizes)):  # S'S of each size's patients: sums of products of counts, exact
        block = s[size_index == k]
        ss[k] = block.T @ block
    weighted = s * t[:, None]
    st = np.column_stack(
        [np.bincount(size_index, weights=weighted[:, j], minlength=len(sizes)) for j in range(p)]
    ).reshape(len(sizes), p)
    counts = np.bincount(visit, minlength=p).astype(float)
    return _Sums(
        n_obs=len(y),
        n_patients=n_groups,
        p=p,
        xtx=np.diag(counts),
        xty=np.bincount(visit, weights=y, minlength=p),
        yty=float(y @ y),
        sizes=sizes,
        patients=np.bincount(size_index, minlength=len(sizes)).astype(float),
        ss=ss,
        st=st,
        tt=np.bincount(size_index, weights=t * t, minlength=len(sizes)),
    )


def _gls(sums: _Sums, g: float) -> tuple[np.ndarray, np.ndarray, float]:
    """beta, X'WX and r'Wr for ratio g, where W = I - c J per patient, c = g / (1 + n g)."""
    c = g / (1.0 + sums.sizes * g)
    xwx = sums.xtx - np.tensordot(c, sums.ss, axes=1)
    xwy = sums.xty - c @ sums.st
    beta = np.linalg.solve(xwx, xwy)
    # r'Wr = y'Wy - beta'X'Wy  (beta solves the GLS normal equations)
    ywy = sums.yty - float(c @ sums.tt)
    return beta, xwx, ywy - float(beta @ xwy)


def _neg_restricted_loglik(log_g: float, sums: _Sums) -> float:
    g = float(np.exp(log_g))
    _, xwx, rwr = _gls(sums, g)
    dof = sums.n_obs - sums.p
    sign, logdet = np.linalg.slogdet(xwx)
    if sign <= 0 or rwr <= 0:
        return float("inf")
    log_det_v = float(sums.patients @ np.log1p(sums.sizes * g))
    return float(0.5 * (dof * np.log(rwr / dof) + log_det_v + logdet))


def fit_trajectory(frame: pd.DataFrame) -> Trajectory:
    """Fit the mixed model on (patient_id, visit, value) and return the mean at each visit."""
    return fit_visits(
        frame["patient_id"].to_numpy(),
        frame["visit"].astype(int).to_numpy(),
        frame["value"].astype(float).to_numpy(),
    )


def fit_visits(patient: np.ndarray, visit_of: np.ndarray, y: np.ndarray) -> Trajectory:
    """``fit_trajectory`` of the columns as arrays: each row's patient, visit (an integer) and
    value (a float)."""
    # each row's visit as its position among the visits (sorted, distinct: ``codes``), the same
    # numbers as a dict's lookup row by row (``Series.map``)
    visit, distinct = sorted_codes(visit_of)
    visits = [int(v) for v in distinct]
    sums = _sums(patient, visit, y, len(visits))
    # The ratio tau2/sigma2 lies far inside [1e-8, 1e4] for any score we model.
    found = optimize.minimize_scalar(
        _neg_restricted_loglik,
        bounds=(np.log(1e-8), np.log(1e4)),
        args=(sums,),
        method="bounded",
        options={"xatol": 1e-10},
    )
    g = float(np.exp(found.x))
    beta, xwx, rwr = _gls(sums, g)
    sigma2 = rwr / (sums.n_obs - sums.p)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(xwx)))
    return Trajectory(
        visits=visits,
        mean=[float(b) for b in beta],
        low=[float(b - Z95 * s) for b, s in zip(beta, se, strict=True)],
        high=[float(b + Z95 * s) for b, s in zip(beta, se, strict=True)],
        n_patients=sums.n_patients,  # (as ``nunique``: a missing id is none)
        n_observations=len(y),
        patient_variance=g * sigma2,
        residual_variance=sigma2,
    )
