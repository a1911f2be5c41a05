"""Screening schemas. The yes/no questions and list ids are the knowledge base's screening items."""

from __future__ import annotations

from pydantic import Field

from bontrack.records import Stored
from bontrack.schemas import EventDate, Flag, Id, Input, Text


class ScreeningCreate(Input):
    patient_id: Id
    date: EventDate
    pregnant: Flag | None = Field(None, description="null: not asked")
    breastfeeding: Flag | None = None
    infection_at_injection_site: Flag | None = None
    allergies: list[Text] = Field(default_factory=list, description="ids from screening.toml [allergies]")
    conditions: list[Text] = Field(default_factory=list, description="ids from screening.toml [conditions]")
    medications: list[Text] = Field(default_factory=list, description="generic or brand names")


ScreeningRead = Stored[ScreeningCreate]
