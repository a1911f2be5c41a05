"""Screening schemas. The yes/no questions and list ids are the knowledge base's screening items."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic.config import JsonDict

from bontrack.records import Stored
from bontrack.schemas import EventDate, Flag, Id, Input, Text, at_most

# A plausibility bound of the input, not a clinical rule: more entries than any patient's list (ten
# or more medicines is already called hyperpolypharmacy), so a pasted or generated list of
# thousands is refused, naming the field and the maximum. Stored records keep what they hold.
MAX_LIST_ITEMS = 100
_MAX_ITEMS: JsonDict = {"maxItems": MAX_LIST_ITEMS}  # in the OpenAPI schema too


class ScreeningCreate(Input):
    patient_id: Id
    date: EventDate
    pregnant: Flag | None = Field(None, description="null: not asked (never asked of a male patient)")
    breastfeeding: Flag | None = Field(None, description="null: not asked (never asked of a male patient)")
    infection_at_injection_site: Flag | None = None
    allergies: Annotated[list[Text], at_most(MAX_LIST_ITEMS, "allergies")] = Field(
        default_factory=list, description="ids from screening.toml [allergies]", json_schema_extra=_MAX_ITEMS
    )
    conditions: Annotated[list[Text], at_most(MAX_LIST_ITEMS, "conditions")] = Field(
        default_factory=list, description="ids from screening.toml [conditions]", json_schema_extra=_MAX_ITEMS
    )
    medications: Annotated[list[Text], at_most(MAX_LIST_ITEMS, "medicines")] = Field(
        default_factory=list, description="generic or brand names", json_schema_extra=_MAX_ITEMS
    )


ScreeningRead = Stored[ScreeningCreate]
