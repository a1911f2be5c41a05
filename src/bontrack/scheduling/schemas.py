"""What the worklist returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bontrack.records import Stored
from bontrack.schemas import EventDate, Id, Input, NoControls, PlannedDate

Kind = Literal["outcome_visit", "reinjection", "therapy_visit", "adverse_event"]
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
    session_id: str | None = None  # (an adverse event's follow-up: the session it came after)
    plan_id: str | None = None
    event_id: str | None = None  # an adverse event's follow-up: the event (its item's key)
    # who the patient is and how to reach them (phone and e-mail where recorded)
    name: str = ""
    birth_date: dt.date | None = None
    phone: str = ""
    email: str = ""
    clinician_id: str | None = None  # the session's injector, or the plan's therapist
    # what was done about it so far (worklist_action records): the last action, when, and a note
    last_action: str | None = None
    last_action_on: dt.date | None = None
    last_action_note: str = ""

    @property
    def key(self) -> str:
        if self.kind == "adverse_event":
            return item_key(self.kind, self.event_id, None)
        due = None if self.kind == "reinjection" else self.due_date
        return item_key(self.kind, self.session_id or self.plan_id, due)


class ReviewItem(BaseModel):
    """A patient to review before another injection (stop-and-review)."""

    model_config = ConfigDict(frozen=True)

    clinic_id: str
    patient_id: str
    record_number: str
    last_session_id: str
    last_session_date: dt.date
    what: str
    name: str = ""
    birth_date: dt.date | None = None
    phone: str = ""
    email: str = ""

    @property
    def key(self) -> str:
        return item_key("stop_review", self.last_session_id, None)


# What a clinician did about a worklist item (stored append-only as worklist_action records):
# done, contacted (still open), cancelled (with a reason), snoozed to a date, and for a
# stop-and-review flag "reviewed" with the decision taken.
Action = Literal["done", "contacted", "cancelled", "snoozed", "reviewed"]
ActionKind = Literal["outcome_visit", "reinjection", "therapy_visit", "stop_review", "adverse_event"]
Decision = Literal["continue", "change", "stop"]
ACTION_WORDS: dict[str, str] = {
    "done": "done",
    "contacted": "patient contacted",
    "cancelled": "cancelled",
    "snoozed": "snoozed",
    "reviewed": "review done",
}
DECISION_WORDS: dict[str, str] = {
    "continue": "continue as planned",
    "change": "change product or dose",
    "stop": "stop injections",
}
KIND_WORDS: dict[str, str] = {
    "outcome_visit": "Outcome visit",
    "reinjection": "Re-injection",
    "therapy_visit": "Physical therapy",
    "adverse_event": "Adverse event follow-up",
    "stop_review": "Stop and review",
}


def item_key(kind: str, record_id: str | None, due: dt.date | None) -> str:
    """One worklist item, the same on every read: its kind, the session or plan it follows, and
    its date (a stop-and-review flag: the last session judged, no date; an adverse event's
    follow-up: the event, no date)."""
    return f"{kind}:{record_id}" + (f":{due.isoformat()}" if due is not None else "")


class WorklistActionCreate(Input):
    """What was done about one worklist item, on which day; corrections are new versions."""

    patient_id: Id
    item_key: Annotated[str, Field(min_length=1, max_length=120), NoControls]
    kind: ActionKind
    action: Action
    on: EventDate
    what: Annotated[
        str, Field(max_length=300, description="the item as the worklist named it"), NoControls
    ] = ""
    reason: Annotated[str, Field(max_length=1000), NoControls] = ""
    snooze_until: PlannedDate | None = None
    decision: Decision | None = None
    note: Annotated[str, Field(max_length=2000), NoControls] = ""


WorklistActionRead = Stored[WorklistActionCreate]
