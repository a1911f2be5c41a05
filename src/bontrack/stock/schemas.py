"""Stock schemas: what a delivery, an opening and a discard record, and the stock and recall views."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from bontrack.records import Stored
from bontrack.schemas import CalendarDate, EventDate, FreeText, Id, Input, LocalTime, NoControls, Text

Lot = Annotated[
    str, Field(min_length=1, max_length=64, description="the lot number on the carton"), NoControls
]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
#: The most vials one delivery, opening or discard records (a larger delivery: several records).
MAX_VIALS_PER_RECORD = 1000
VialCount = Annotated[int, Field(ge=1, le=MAX_VIALS_PER_RECORD, strict=True)]


class StockReceiptCreate(Input):
    """A delivery of vials of one lot."""

    product: Annotated[str, Field(min_length=1, description="product id or brand name"), NoControls]
    lot: Lot
    expiry: CalendarDate
    vial_units: Positive
    vial_count: VialCount
    supplier: Text
    received_on: EventDate


class VialOpeningCreate(Input):
    """Vials of a lot opened (reconstituted) for a session; the usable window starts at reconstitution."""

    product: FreeText
    lot: Lot
    vial_units: Positive
    vial_count: VialCount
    session_id: Id | None = None
    patient_id: Id | None = None
    opened_at: LocalTime
    usable_until: LocalTime | None = Field(
        None, description="reconstitution time plus the label's usable hours (knowledge: products.toml)"
    )


class VialDiscardCreate(Input):
    """Unopened vials of a lot thrown away (expired, damaged, recalled, cold chain broken)."""

    product: FreeText
    lot: Lot
    vial_units: Positive
    vial_count: VialCount
    units: Positive
    reason: Text
    discarded_on: EventDate


class DiscardRequest(Input):
    """What a person gives to discard vials: the lot is looked up in stock."""

    lot: Lot
    vial_count: VialCount
    reason: Text
    discarded_on: EventDate


StockReceiptRead = Stored[StockReceiptCreate]


class StockReceiptSaved(StockReceiptRead):
    """A delivery as saved, with what the person should know about it (an expired lot)."""

    warnings: list[str] = Field(default_factory=list)


VialOpeningRead = Stored[VialOpeningCreate]
VialDiscardRead = Stored[VialDiscardCreate]


class StockLine(BaseModel):
    """One lot of one vial size in one clinic: vials received, opened, discarded and left."""

    clinic_id: str
    product: str
    lot: str
    expiry: dt.date
    vial_units: float
    received: int
    opened: int
    discarded: int
    remaining: int
    suppliers: list[str]
    first_received_on: dt.date = Field(description="the day its first delivery was received")
    days_to_expiry: int
    expiring_soon: bool = Field(description="expires within stock.expiry_warning_days of the day asked")
    expired: bool
    usable_hours_after_reconstitution: float | None


class RecallLine(BaseModel):
    """One session that used the recalled lot, with the patient's contact details."""

    clinic_id: str
    session_id: str
    date: dt.date
    product: str
    total_units: float
    vial_count: int
    patient_id: str
    record_number: str
    name: str
    phone: str
    email: str


class Recall(BaseModel):
    lot: str
    sessions: list[RecallLine]
    patients: int
    clinics: int
