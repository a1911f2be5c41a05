"""Report section 1: the cohort in counts (patients, sessions, decisions, outcome visits due and scored)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from bontrack.reports.data import CohortFrames


def summary(
    frames: CohortFrames, nprs_rows: pd.DataFrame, visit_weeks: list[int], today: date
) -> dict[str, Any]:
    """The summary counts as a JSON object (keys as the report's JSON has them).

    A visit is due on its session's date plus its week; it is scored when a pain score of the
    pathway's instrument names that session and week.
    """
    s = frames.sessions
    per_patient = s.groupby("patient_id").size() if len(s) else pd.Series(dtype=int)
    day = pd.Timestamp(today)
    due_on: set[tuple[Any, int]] = set()
    for w in visit_weeks:
        ripe = s.loc[s["date"] + pd.Timedelta(weeks=w) <= day, "session_id"]
        due_on |= {(sid, w) for sid in ripe}
    scored = (
        frames.measurements.dropna(subset=["session_id", "weeks_after_session"])
        .query("instrument == 'nprs'")
        .drop_duplicates(["session_id", "weeks_after_session"])
    )
    scored_due = sum(
        (sid, int(w)) in due_on
        for sid, w in zip(scored["session_id"], scored["weeks_after_session"], strict=True)
    )
    return {
        "patients": len(frames.patients),
        "patients_treated": int(s["patient_id"].nunique()) if len(s) else 0,
        "sessions": len(s),
        "first_session": s["date"].min().date().isoformat() if len(s) else None,
        "last_session": s["date"].max().date().isoformat() if len(s) else None,
        "cycles_per_patient": {str(k): int(v) for k, v in per_patient.value_counts().sort_index().items()},
        "decisions": {str(k): int(v) for k, v in s["decision"].value_counts().sort_index().items()},
        "overrides": int(s["override"].sum()) if len(s) else 0,
        "products": {str(k): int(v) for k, v in s["product"].value_counts().items()},
        "with_physical_therapy": int(s["physical_therapy"].sum()) if len(s) else 0,
        "outcome_visits_due": len(due_on),
        "outcome_visits_not_yet_due": len(s) * len(visit_weeks) - len(due_on),
        "outcome_visits_with_pain_score": int(scored_due),
        "sessions_with_followup": int(nprs_rows["session_id"].nunique()) if len(nprs_rows) else 0,
    }
