"""Report section 1: the cohort in counts (patients, sessions, decisions, outcome visits due and scored)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from bontrack.analytics.codes import all_distinct, distinct_count, positions, sorted_codes
from bontrack.reports.data import CohortFrames


def summary(
    frames: CohortFrames, nprs_rows: pd.DataFrame, visit_weeks: list[int], today: date, *, pain: str
) -> dict[str, Any]:
    """The summary counts as a JSON object (keys as the report's JSON has them).

    A visit is due on its session's date plus its week; it is scored when a score of ``pain``
    (the pathway's pain instrument) names that session and week.
    """
    s = frames.sessions
    # each patient's sessions (a missing patient in none, as groupby leaves it out)
    patient, _ = sorted_codes(s["patient_id"].to_numpy())
    per_patient = pd.Series(np.bincount(patient[patient >= 0])) if len(s) else pd.Series(dtype=int)
    day = pd.Timestamp(today)
    weeks = list(dict.fromkeys(visit_weeks))
    # each session's visit at each week: due by the report date?
    due = {w: (s["date"] + pd.Timedelta(weeks=w) <= day).to_numpy() for w in weeks}
    # one row per session (its id unique, as the read makes them): the distinct due (session,
    # week) pairs are those of ``due``, counted and looked up by position (no frame of the pairs
    # made, deduplicated and merged: a third of this section at 100,000 patients)
    unique = all_distinct(s["session_id"].to_numpy())
    due_on = (
        None
        if unique
        else pd.concat(
            [pd.DataFrame({"session_id": s.loc[due[w], "session_id"], "w": w}) for w in weeks],
            ignore_index=True,
        ).drop_duplicates()
    )
    if frames.cycle_rows is not None:  # the scores are in the read's DuckDB tables
        scored = frames.cycle_rows.visits_scored(pain, today)
    else:
        scored = (
            frames.measurements.dropna(subset=["session_id", "weeks_after_session"])
            .query("instrument == @pain")
            .drop_duplicates(["session_id", "weeks_after_session"])
        )
    scored = pd.DataFrame(
        {
            "session_id": scored["session_id"].to_numpy(),
            "w": scored["weeks_after_session"].to_numpy().astype(int),
        }
    )
    # each scored (session, week) is one row; those due are the ones among due_on
    if due_on is not None:
        scored_due = len(scored.merge(due_on, on=["session_id", "w"], how="inner"))
        due_count = len(due_on)
    else:
        at = positions(s["session_id"].to_numpy(), scored["session_id"].to_numpy())
        w_scored = scored["w"].to_numpy()
        scored_due = sum(int(due[w][at[(w_scored == w) & (at >= 0)]].sum()) for w in weeks)
        due_count = sum(int(d.sum()) for d in due.values())
    return {
        "patients": len(frames.patients),
        "patients_treated": distinct_count(s["patient_id"].to_numpy()) if len(s) else 0,
        "sessions": len(s),
        "first_session": s["date"].min().date().isoformat() if len(s) else None,
        "last_session": s["date"].max().date().isoformat() if len(s) else None,
        "cycles_per_patient": {str(k): int(v) for k, v in per_patient.value_counts().sort_index().items()},
        "decisions": {str(k): int(v) for k, v in s["decision"].value_counts().sort_index().items()},
        "overrides": int(s["override"].sum()) if len(s) else 0,
        "products": {str(k): int(v) for k, v in s["product"].value_counts().items()},
        "with_physical_therapy": int(s["physical_therapy"].sum()) if len(s) else 0,
        "outcome_visits_due": due_count,
        "outcome_visits_not_yet_due": len(s) * len(visit_weeks) - due_count,
        "outcome_visits_with_pain_score": int(scored_due),
        "sessions_with_followup": distinct_count(nprs_rows["session_id"].to_numpy()) if len(nprs_rows) else 0,
    }
