"""Stock tables: one append-only record per delivery, per opening and per discard."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


class StockReceiptRow(VersionedRow, Base):
    __tablename__ = "stock_receipt_versions"
    record_type: ClassVar[str] = "stock_receipt"
    index_fields: ClassVar[tuple[str, ...]] = ("lot",)
    lot: Mapped[str | None] = mapped_column(String(64), index=True)


class VialOpeningRow(VersionedRow, Base):
    __tablename__ = "vial_opening_versions"
    record_type: ClassVar[str] = "vial_opening"
    index_fields: ClassVar[tuple[str, ...]] = ("lot", "session_id", "patient_id")
    lot: Mapped[str | None] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)


class VialDiscardRow(VersionedRow, Base):
    __tablename__ = "vial_discard_versions"
    record_type: ClassVar[str] = "vial_discard"
    index_fields: ClassVar[tuple[str, ...]] = ("lot",)
    lot: Mapped[str | None] = mapped_column(String(64), index=True)
