"""Report section 10: patients to stop and review (the worklist's rule on the report's frames)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.codes import isin
from bontrack.analytics.review import due_for_review
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.data import CohortFrames


@dataclass(frozen=True, kw_only=True)
class ReviewRow:
    """A patient by record number, their cycles and the date of their last session."""

    record_number: str
    cycles: int
    last_session: str


def review(
    frames: CohortFrames, kb: KnowledgeBase, responded: pd.DataFrame | None = None, *, today: dt.date
) -> list[ReviewRow]:
    """The worklist's rule on the report's frames (analytics.review) on the report's day, listed
    by record number; ``responded``: ``analytics.review.responses`` of these frames, when
    computed already."""
    due = due_for_review(frames.sessions, frames.measurements, kb, today=today, responded=responded)
    if not due:
        return []
    # stop_and_review names patients as text; the frames may hold ids or integer codes
    # (frames.coded): only the due patients' rows are named as text (each distinct id once)
    ids = np.asarray(pd.unique(frames.sessions["patient_id"]))
    chosen = ids[isin(ids, _as_codes(due))] if ids.dtype.kind in "iu" else None
    if chosen is None:  # (ids of any kind: compared as their texts)
        chosen = ids[np.isin(ids.astype(str), due)]
    patients = frames.patients[isin(frames.patients["patient_id"].to_numpy(), chosen)]
    mine = frames.sessions[isin(frames.sessions["patient_id"].to_numpy(), chosen)]
    mine = mine.assign(patient_id=mine["patient_id"].astype(str))
    # each due patient's record number (the last row of an id; the id itself without one), number
    # of sessions and last session date, looked up for the list ``due`` in bulk (tens of
    # thousands of due patients at 100,000: dicts of them and a lookup each cost more)
    named = pd.Series(patients["record_number"].to_numpy(), index=patients["patient_id"].astype(str))
    named = named[~named.index.duplicated(keep="last")]
    at = named.index.get_indexer(pd.Index(due))
    record = named.to_numpy()
    numbers = [str(record[i]) if i >= 0 else pid for i, pid in zip(at.tolist(), due, strict=True)]
    n = mine.groupby("patient_id")["session_id"].size().reindex(due).astype(int).tolist()
    last = mine.groupby("patient_id")["date"].max().dt.strftime("%Y-%m-%d").reindex(due).tolist()
    out = [
        ReviewRow(record_number=number, cycles=cycles, last_session=str(day))
        for number, cycles, day in zip(numbers, n, last, strict=True)
    ]
    return sorted(out, key=lambda r: r.record_number)


def _as_codes(due: list[str]) -> np.ndarray:
    """The due patients' texts as the integer codes they name (``frames.coded``: each code's
    text is ``str`` of it); a text no code has (not an integer's own text) is left out."""
    codes = [int(t) for t in due if t.lstrip("-").isdecimal() and str(int(t)) == t]
    return np.array(codes, dtype=np.int64)
