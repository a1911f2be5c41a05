"""Report section 10: patients to stop and review (the worklist's rule on the report's frames)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.review import due_for_review
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.data import CohortFrames


@dataclass(frozen=True, kw_only=True)
class ReviewRow:
    """A patient by record number, their cycles and the date of their last session."""

    record_number: str
    cycles: int
    last_session: str


def review(frames: CohortFrames, kb: KnowledgeBase, responded: pd.DataFrame | None = None) -> list[ReviewRow]:
    """The worklist's rule on the report's frames (analytics.review), listed by record number;
    ``responded``: ``analytics.review.responses`` of these frames, when computed already."""
    due = due_for_review(frames.sessions, frames.measurements, kb, responded=responded)
    if not due:
        return []
    # stop_and_review names patients as text; the frames may hold ids or integer codes
    # (frames.coded): only the due patients' rows are named as text (each distinct id once)
    ids = pd.unique(frames.sessions["patient_id"])
    chosen = ids[np.isin(np.asarray(ids).astype(str), due)]
    patients = frames.patients[frames.patients["patient_id"].isin(chosen)]
    numbers = dict(zip(patients["patient_id"].astype(str), patients["record_number"], strict=True))
    mine = frames.sessions[frames.sessions["patient_id"].isin(chosen)]
    mine = mine.assign(patient_id=mine["patient_id"].astype(str))
    n = mine.groupby("patient_id")["session_id"].size().to_dict()
    last = mine.groupby("patient_id")["date"].max().dt.strftime("%Y-%m-%d").to_dict()
    out = [
        ReviewRow(record_number=str(numbers.get(pid, pid)), cycles=int(n[pid]), last_session=str(last[pid]))
        for pid in due
    ]
    return sorted(out, key=lambda r: r.record_number)
