"""Report section 5: the mean course of a score over the first cycles (a mixed model's means)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.codes import distinct_count, sorted_codes
from bontrack.analytics.trajectories import fit_visits, visit_frame
from bontrack.reports.sections.common import MIN_GROUP, TRAJECTORY_MAX_CYCLES


@dataclass(frozen=True, kw_only=True)
class TrajectorySeries:
    """One score's fitted mean and 95% interval at each visit of the first cycles."""

    score: str
    label: str
    points: list[str]  # "C1 0w", "C1 2w", ...
    cycle: list[int]
    weeks: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    n_patients: int
    n_observations: int  # distinct scores used
    scores_per_point: list[int]  # scores at each point (they sum to n_observations)
    patients_per_point: list[int]


def trajectory(rows: pd.DataFrame, score: str, label: str) -> TrajectorySeries | None:
    """The series from one score's ``cycle_outcomes`` rows; None with too few patients or visits."""
    if rows.empty:
        return None
    return fitted(visit_frame(rows, max_cycle=TRAJECTORY_MAX_CYCLES), score, label)


def fitted(long: pd.DataFrame, score: str, label: str) -> TrajectorySeries | None:
    """The series from one score's ``visit_frame`` (patient_id, cycle, weeks, value) of the first
    ``TRAJECTORY_MAX_CYCLES`` cycles (the report's read makes it in DuckDB: ``CycleRows.visits``);
    None with too few patients or visits."""
    # (the columns as arrays: the kept visits' rows taken, no frame of them made)
    visit = long["cycle"].astype(int).to_numpy() * 1000 + long["weeks"].astype(int).to_numpy()
    patient = long["patient_id"].to_numpy()
    counts = patients_per_visit(visit, patient)
    keep = np.isin(visit, counts[counts >= MIN_GROUP].index.to_numpy())
    patient, visit = patient[keep], visit[keep]
    if distinct_count(patient) < MIN_GROUP or distinct_count(visit) < 2:
        return None
    fit = fit_visits(patient, visit, long["value"].to_numpy()[keep].astype(float))
    found, _ = sorted_codes(visit)  # (each row's place among the visits: fit.visits, in order)
    scores = np.bincount(found, minlength=len(fit.visits))
    cycles = [v // 1000 for v in fit.visits]
    weeks = [v % 1000 for v in fit.visits]
    return TrajectorySeries(
        score=score,
        label=label,
        points=[f"C{c} {w}w" for c, w in zip(cycles, weeks, strict=True)],
        cycle=cycles,
        weeks=weeks,
        mean=fit.mean,
        low=fit.low,
        high=fit.high,
        n_patients=fit.n_patients,
        n_observations=fit.n_observations,
        scores_per_point=[int(n) for n in scores],
        patients_per_point=[int(n) for n in counts.reindex(fit.visits)],
    )


# (at most this many (visit, patient) places are marked in one array of flags: 64 MB)
DENSE_PAIRS = 2**26


def patients_per_visit(visit: np.ndarray, patient: np.ndarray) -> pd.Series:
    """``pd.Series(patient).groupby(visit).nunique()``: the distinct patients at each visit (in
    the visits' order). Of integer patients (the report's codes): each (visit, patient) pair
    marked in an array of flags, a row per visit, then each row's marks counted (a twentieth of
    groupby's time at 1,000,000 patients); when that array would pass ``DENSE_PAIRS``, the
    distinct pairs by one hash of a number each (a third of groupby's time)."""
    if not len(patient) or not np.issubdtype(patient.dtype, np.integer):
        return pd.Series(patient).groupby(visit).nunique()
    low, span = int(patient.min()), int(patient.max()) - int(patient.min()) + 1
    codes, visits = sorted_codes(visit)
    if span * len(visits) >= 2**62:  # (pairs as one number would not fit)
        return pd.Series(patient).groupby(visit).nunique()
    pairs = codes.astype(np.int64) * span + (patient.astype(np.int64) - low)
    if span * len(visits) <= DENSE_PAIRS:
        marked = np.zeros(span * len(visits), dtype=bool)
        marked[pairs] = True
        counts = np.count_nonzero(marked.reshape(len(visits), span), axis=1)
    else:
        counts = np.bincount(pd.unique(pairs) // span, minlength=len(visits))
    return pd.Series(counts.astype(np.int64), index=pd.Index(visits))
