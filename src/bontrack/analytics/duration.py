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
    out = []
    for (patient_id, session_id), g in cycle_rows.dropna(subset=["baseline"]).groupby(
        ["patient_id", "session_id"], sort=True
    ):
        g = g.sort_values("date")
        better = (g["improvement"].round(9) >= mcid).to_numpy()
        if not better.any():
            continue
        first = int(better.argmax())
        start = g["session_date"].iloc[0]
        nxt = g["next_session_date"].iloc[0]
        after = g.iloc[first + 1 :]
        lost_at = after.loc[after["improvement"].round(9) < mcid, "date"]
        loss = lost_at.iloc[0] if len(lost_at) else None
        candidates = [d for d in (loss, nxt) if d is not None and not pd.isna(d)]
        if candidates:
            end, lost = min(candidates), True
        else:
            end, lost = g["date"].iloc[-1], False
        out.append(
            {
                "patient_id": patient_id,
                "session_id": session_id,
                "cycle": int(g["cycle"].iloc[0]),
                "days": int((end - start).days),
                "lost": lost,
            }
        )
    return pd.DataFrame(out, columns=["patient_id", "session_id", "cycle", "days", "lost"])


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
