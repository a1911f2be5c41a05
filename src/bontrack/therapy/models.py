"""Therapy tables."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


class TherapyPlanRow(VersionedRow, Base):
    __tablename__ = "therapy_plan_versions"
    record_type: ClassVar[str] = "therapy_plan"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "episode_id")
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    episode_id: Mapped[str | None] = mapped_column(RecordId, index=True)


class TherapyVisitRow(VersionedRow, Base):
    __tablename__ = "therapy_visit_versions"
    record_type: ClassVar[str] = "therapy_visit"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "plan_id")
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    plan_id: Mapped[str | None] = mapped_column(RecordId, index=True)
