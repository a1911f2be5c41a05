"""What the worklist returns."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["outcome_visit", "reinjection", "therapy_visit"]
# overdue: past its date and not done; due: today; eligible: re-injection allowed from then on
Status = Literal["overdue", "due", "eligible", "upcoming"]
STATUS_ORDER: dict[str, int] = {"overdue": 0, "due": 1, "eligible": 2, "upcoming": 3}


class DueItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    due_date: dt.date
    kind: Kind
    clinic_id: str
    patient_id: str
    record_number: str
    what: str
    session_id: str | None = None
    plan_id: str | None = None


class ReviewItem(BaseModel):
    """A patient to review before another injection (stop-and-review)."""

    model_config = ConfigDict(frozen=True)

    clinic_id: str
    patient_id: str
    record_number: str
    last_session_id: str
    last_session_date: dt.date
    what: str
