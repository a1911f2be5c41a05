"""The cohort frames as the report's sections read them: as of the report date, ids coded as integers."""

from __future__ import annotations

from datetime import date

import pandas as pd

from bontrack.dates import EARLIEST, LATEST
from bontrack.reports.data import CohortFrames


def coded(frames: CohortFrames) -> CohortFrames:
    """The frames with patient and session ids replaced by integer codes in the ids' sort order.

    Every merge, sort and group-by of the analysis keys on these ids; on 36-character text they
    cost most of the report's time, on integers a fraction. Sorting the codes sorts as the ids
    did, so ties are broken the same way; a missing session id stays missing (NaN). The report
    names patients by record number, never by id, so nothing shown changes.
    """

    def codes(*columns: pd.Series) -> pd.Index:
        values = pd.concat([c.dropna() for c in columns], ignore_index=True).unique()
        index: pd.Index = pd.Index(sorted(values))
        return index

    patients = codes(
        frames.patients["patient_id"], frames.sessions["patient_id"], frames.measurements["patient_id"]
    )
    sessions = codes(
        frames.sessions["session_id"], frames.measurements["session_id"], frames.adverse_events["session_id"]
    )

    def patient(c: pd.Series) -> pd.Series:
        return pd.Series(patients.get_indexer(pd.Index(c)), index=c.index, dtype="int64")

    def session(c: pd.Series) -> pd.Series:
        coded = pd.Series(sessions.get_indexer(pd.Index(c)), index=c.index, dtype="float64")
        return coded.where(c.notna())

    return CohortFrames(
        frames.patients.assign(patient_id=patient(frames.patients["patient_id"])),
        frames.sessions.assign(
            patient_id=patient(frames.sessions["patient_id"]),
            session_id=session(frames.sessions["session_id"]),
        ),
        frames.measurements.assign(
            patient_id=patient(frames.measurements["patient_id"]),
            session_id=session(frames.measurements["session_id"]),
        ),
        frames.adverse_events.assign(session_id=session(frames.adverse_events["session_id"])),
    )


def dates_at_the_edge(frames: CohortFrames) -> int:
    """Session and measurement dates that reports.data clamped to 1900-01-01 or 2100-12-31."""
    edges = [pd.Timestamp(EARLIEST), pd.Timestamp(LATEST)]
    sessions = int(frames.sessions["date"].isin(edges).sum()) if len(frames.sessions) else 0
    measured = frames.measurements.drop_duplicates(subset=["patient_id", "date", "instrument"])
    return sessions + (int(measured["date"].isin(edges).sum()) if len(measured) else 0)


def as_of(frames: CohortFrames, day: date) -> CohortFrames:
    """Only the records whose clinical date is on or before ``day``: sessions by their date,
    outcomes by theirs, adverse events by the date they were reported (and of a kept session);
    patients who have a session or an outcome by then."""
    end = pd.Timestamp(day)
    sessions = frames.sessions[frames.sessions["date"] <= end]
    measurements = frames.measurements[frames.measurements["date"] <= end]
    events = frames.adverse_events
    if "reported_date" in events.columns:
        events = events[events["reported_date"] <= end]
    events = events[events["session_id"].isin(set(sessions["session_id"]))]
    seen = set(sessions["patient_id"]) | set(measurements["patient_id"])
    patients = frames.patients[frames.patients["patient_id"].isin(seen)]
    return CohortFrames(patients, sessions, measurements, events)
