"""The stock domain's record kinds: toxin vials received, opened for a session, and discarded."""

from __future__ import annotations

from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_SESSIONS
from bontrack.stock.models import StockReceiptRow, VialDiscardRow, VialOpeningRow
from bontrack.stock.schemas import (
    StockReceiptCreate,
    StockReceiptRead,
    VialDiscardCreate,
    VialDiscardRead,
    VialOpeningCreate,
    VialOpeningRead,
)

STOCK_RECEIPT = RecordKind(
    name="stock_receipt",
    row=StockReceiptRow,
    schema=StockReceiptCreate,
    label="vials received",
    read=StockReceiptRead,
    write_roles=WRITE_SESSIONS,
    patient_field=None,
)
VIAL_OPENING = RecordKind(
    name="vial_opening",
    row=VialOpeningRow,
    schema=VialOpeningCreate,
    label="vial opened",
    read=VialOpeningRead,
    write_roles=WRITE_SESSIONS,
    references=(("session_id", "injection_session"), ("patient_id", "patient")),
)
VIAL_DISCARD = RecordKind(
    name="vial_discard",
    row=VialDiscardRow,
    schema=VialDiscardCreate,
    label="vials discarded",
    read=VialDiscardRead,
    write_roles=WRITE_SESSIONS,
    patient_field=None,
)
