"""Outcome schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from bontrack.records import Stored
from bontrack.schemas import EventDate, FreeText, Id, Input, NoControls, stored

Answer = int | float | FreeText | bool | None
ItemKey = Annotated[str, Field(min_length=1, max_length=40), NoControls]


def _answered(answers: dict[str, Answer], info: ValidationInfo) -> dict[str, Answer]:
    """At least one answer: a form of only blanks (``{"1": null}``) is no measurement, as the
    page's form, which leaves blanks out, refuses an empty one (what is stored is read as it is)."""
    if answers and not stored(info) and all(value is None or value == "" for value in answers.values()):
        raise PydanticCustomError(
            "no_answer", "must have at least one entry that is answered; every answer given is empty (null)"
        )
    return answers


Answers = Annotated[dict[ItemKey, Answer], Field(min_length=1), AfterValidator(_answered)]
"""A form's answers by item number: at least one of them answered."""


class OutcomeCreate(Input):
    patient_id: Id
    episode_id: Id
    instrument: Annotated[
        str,
        Field(pattern=r"^[a-z0-9_]{1,40}$", description="instrument id, e.g. nprs, ndi, rand36"),
        NoControls,
    ]
    date: EventDate
    answers: Answers
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
