"""Therapy schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bontrack.records import Stored
from bontrack.schemas import EventDate, Flag, Id, Input, NoControls, PlannedDate, Text


class TherapyPlanCreate(Input):
    patient_id: Id
    episode_id: Id
    therapist_id: Id
    start_date: PlannedDate
    weeks: Annotated[int, Field(ge=1, le=104, strict=True)]
    visits_per_week: Annotated[int, Field(ge=1, le=7, strict=True)]
    goals: list[Text] = Field(default_factory=list)
    exercises: list[Text] = Field(default_factory=list)


class TherapyVisitCreate(Input):
    patient_id: Id
    plan_id: Id
    date: EventDate
    therapist_id: Id
    attended: Flag = True
    notes: Annotated[str, Field(max_length=5000), NoControls] = ""


TherapyPlanRead = Stored[TherapyPlanCreate]
TherapyVisitRead = Stored[TherapyVisitCreate]


class TherapyVisitSaved(TherapyVisitRead):
    """A visit as saved, with what the person should know about it (a visit beyond the plan)."""

    warnings: list[str] = Field(default_factory=list)
