"""The cohort frames as the report's sections read them: as of the report date, ids coded as integers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bontrack.analytics.codes import isin
from bontrack.dates import EARLIEST, LATEST
from bontrack.reports.data import CohortFrames


def coded(frames: CohortFrames) -> CohortFrames:
    """The frames with patient and session ids replaced by integer codes in the ids' sort order.

    Every merge, sort and group-by of the analysis keys on these ids; on 36-character text they
    cost most of the report's time, on integers a fraction. Sorting the codes sorts as the ids
    did, so ties are broken the same way; a missing session id stays missing (NaN). The report
    names patients by record number, never by id, so nothing shown changes. Frames read with their
    ids coded already (``cohort_frames(coded_ids=True)``) are returned as they are.
    """
    if frames.ids_coded:
        return frames

    def codes(*columns: pd.Series) -> list[pd.Series]:
        """Each column's ids as their rank among the distinct ids of all the columns (one hash
        pass over every id, then a sort of the distinct ones only); a missing id: -1."""
        values = pd.concat(columns, ignore_index=True)
        # the missing ones (a baseline's session: a third of the scores) left out of the hashing,
        # which is several times slower on None: the same codes, -1 where missing
        present = values.notna().to_numpy()
        found = np.full(len(values), -1, dtype=np.intp)
        found[present], distinct = pd.factorize(values.to_numpy()[present])
        rank = np.empty(len(distinct), dtype="int64")
        rank[np.argsort(np.asarray(distinct, dtype=object), kind="stable")] = np.arange(len(distinct))
        coded = np.where(found >= 0, rank[np.maximum(found, 0)], -1)
        out, start = [], 0
        for c in columns:
            out.append(pd.Series(coded[start : start + len(c)], index=c.index, dtype="int64"))
            start += len(c)
        return out

    p_patients, p_sessions, p_measured = codes(
        frames.patients["patient_id"], frames.sessions["patient_id"], frames.measurements["patient_id"]
    )
    s_sessions, s_measured, s_events = codes(
        frames.sessions["session_id"], frames.measurements["session_id"], frames.adverse_events["session_id"]
    )

    def session(coded: pd.Series, c: pd.Series) -> pd.Series:
        return coded.astype("float64").where(c.notna())

    return CohortFrames(
        frames.patients.assign(patient_id=p_patients),
        frames.sessions.assign(
            patient_id=p_sessions, session_id=session(s_sessions, frames.sessions["session_id"])
        ),
        frames.measurements.assign(
            patient_id=p_measured, session_id=session(s_measured, frames.measurements["session_id"])
        ),
        frames.adverse_events.assign(session_id=session(s_events, frames.adverse_events["session_id"])),
        ids_coded=True,
    )


def dates_at_the_edge(frames: CohortFrames) -> int:
    """Session and measurement dates that reports.data clamped to 1900-01-01 or 2100-12-31."""
    edges = [pd.Timestamp(EARLIEST), pd.Timestamp(LATEST)]
    sessions = int(frames.sessions["date"].isin(edges).sum()) if len(frames.sessions) else 0
    if frames.cycle_rows is not None:  # the scores are in the read's DuckDB tables
        return sessions + frames.cycle_rows.scores_dated([EARLIEST, LATEST])
    m = frames.measurements
    # only the rows at an edge can count: their distinct (patient, date, instrument)
    measured = m[m["date"].isin(edges)].drop_duplicates(subset=["patient_id", "date", "instrument"])
    return sessions + len(measured)


def as_of(frames: CohortFrames, day: date) -> CohortFrames:
    """Only the records whose clinical date is on or before ``day``: sessions by their date,
    outcomes by theirs, adverse events by the date they were reported (and of a kept session);
    patients who have a session or an outcome by then."""
    end = pd.Timestamp(day)

    def upto(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        """The rows dated on or before ``end`` (the frame itself when that is all of them: no copy)."""
        kept = frame[column] <= end
        return frame if bool(kept.all()) else frame[kept]

    sessions = upto(frames.sessions, "date")
    measurements = upto(frames.measurements, "date")
    events = frames.adverse_events
    if "reported_date" in events.columns:
        events = upto(events, "reported_date")
    # hashed in bulk (no Python set of every row's id): the same rows as with sets
    events = events[isin(events["session_id"].to_numpy(), sessions["session_id"].to_numpy())]
    scored = (
        measurements["patient_id"] if frames.cycle_rows is None else frames.cycle_rows.patients_scored(day)
    )
    seen = pd.concat([sessions["patient_id"], scored], ignore_index=True).to_numpy()
    known = isin(frames.patients["patient_id"].to_numpy(), seen)
    patients = frames.patients if bool(known.all()) else frames.patients[known]
    return CohortFrames(patients, sessions, measurements, events, cycle_rows=frames.cycle_rows)
