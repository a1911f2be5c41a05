"""Outcome schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bontrack.records import Stored
from bontrack.schemas import EventDate, FreeText, Id, Input, NoControls

Answer = int | float | FreeText | bool | None
ItemKey = Annotated[str, Field(min_length=1, max_length=40), NoControls]


class OutcomeCreate(Input):
    patient_id: Id
    episode_id: Id
    instrument: Annotated[
        str,
        Field(pattern=r"^[a-z0-9_]{1,40}$", description="instrument id, e.g. nprs, ndi, rand36"),
        NoControls,
    ]
    date: EventDate
    answers: dict[ItemKey, Answer] = Field(min_length=1)
    session_id: Id | None = Field(None, description="the injection session this follow-up belongs to")
    weeks_after_session: Annotated[int, Field(ge=0, le=104, strict=True)] | None = Field(
        None, description="the scheduled follow-up visit this measurement completes (e.g. 2, 6, 12)"
    )


class OutcomeScores(Input):
    """The scores computed when the measurement was saved, with the scorer's version."""

    scores: dict[str, float | None]
    answered: int
    missing: list[int]
    band: str | None = None
    reason: str | None = None
    scorer_version: str


class OutcomeRecord(OutcomeCreate):
    """What is stored: the raw answers and their scores."""

    scoring: OutcomeScores
    patient_reported: bool = Field(
        False, description="filled in by the patient through a one-time link (the phone form)"
    )


OutcomeRead = Stored[OutcomeRecord]
