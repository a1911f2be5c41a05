"""Duration of benefit: time from an injection until the benefit is lost, by Kaplan-Meier.

A cycle *had benefit* when some follow-up improved on baseline by at least the minimal important
difference (MCID). Only such cycles enter the analysis (the others never had a benefit to lose;
the report counts them beside the curve). Benefit is lost at the first later follow-up whose
improvement is below the MCID (pain back to within the MCID of baseline), or at the next
injection, whichever comes first: an event. A cycle with neither is censored at its last
follow-up: the patient was still better when last seen. Loss is dated at the visit that found
it, so durations are the upper end of an interval (visits are weeks apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def benefit_durations(cycle_rows: pd.DataFrame, mcid: float) -> pd.DataFrame:
    """One row per cycle that had benefit: ``days`` and ``lost`` (True = event, False = censored).

    ``cycle_rows`` comes from ``cycles.cycle_outcomes``; ``mcid`` is in the score's units.
    """
    columns = ["patient_id", "session_id", "cycle", "days", "lost"]
    rows = cycle_rows.dropna(subset=["baseline"]).sort_values(["patient_id", "session_id", "date"])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(better=(rows["improvement"].round(9) >= mcid).to_numpy())
    by = rows.groupby(["patient_id", "session_id"], sort=True)
    # visits after the first one with benefit (cumulative count of benefit visits before this one > 0)
    seen_before = by["better"].cumsum() - rows["better"].astype(int)
    had = by["better"].transform("any")
    lost_rows = rows[had & (seen_before > 0) & ~rows["better"]]
    first_loss = lost_rows.groupby(["patient_id", "session_id"])["date"].min()
    cycles = by.agg(
        cycle=("cycle", "first"),
        start=("session_date", "first"),
        next_session=("next_session_date", "first"),
        last_visit=("date", "max"),
        had=("better", "any"),
    )
    cycles = cycles[cycles["had"]].join(first_loss.rename("loss"))
    end_event = cycles[["loss", "next_session"]].min(axis=1)
    lost = end_event.notna()
    end = end_event.where(lost, cycles["last_visit"])
    out = pd.DataFrame(
        {
            "cycle": cycles["cycle"].astype(int),
            "days": (pd.to_datetime(end) - cycles["start"]).dt.days.astype(int),
            "lost": lost.astype(bool),
        }
    ).reset_index()
    return out[columns].reset_index(drop=True)


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate with log-log (exponential Greenwood) 95% bands, as lifelines computes.

    Attributes
    ----------
    timeline, survival, ci_low, ci_high : numpy arrays
        The step function S(t) and its pointwise confidence band.
    median, median_low, median_high : float
        Median time and its interval (inf when the curve does not reach 0.5).
    n, events : int
    """

    timeline: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    median: float
    median_low: float
    median_high: float
    n: int
    events: int


def kaplan_meier(durations: pd.Series, observed: pd.Series, confidence: float = 0.95) -> KaplanMeier:
    """Fit Kaplan-Meier with lifelines and return its curve and median with interval."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=1 - confidence)
    kmf.fit(durations.astype(float), event_observed=observed.astype(bool))
    ci = kmf.confidence_interval_
    med_ci = median_survival_times(ci)
    return KaplanMeier(
        timeline=kmf.survival_function_.index.to_numpy(),
        survival=kmf.survival_function_.iloc[:, 0].to_numpy(),
        ci_low=ci.iloc[:, 0].to_numpy(),
        ci_high=ci.iloc[:, 1].to_numpy(),
        median=float(kmf.median_survival_time_),
        median_low=float(med_ci.iloc[0, 0]),
        median_high=float(med_ci.iloc[0, 1]),
        n=len(durations),
        events=int(observed.astype(bool).sum()),
    )
