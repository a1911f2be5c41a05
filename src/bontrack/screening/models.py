"""The screening table."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


class ScreeningRow(VersionedRow, Base):
    __tablename__ = "screening_versions"
    record_type: ClassVar[str] = "screening"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id",)
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
