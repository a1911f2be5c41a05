"""Tables of the patients domain (each row one version of a record)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


class ClinicRow(VersionedRow, Base):
    __tablename__ = "clinic_versions"
    record_type: ClassVar[str] = "clinic"


class ClinicianRow(VersionedRow, Base):
    __tablename__ = "clinician_versions"
    record_type: ClassVar[str] = "clinician"


class PatientRow(VersionedRow, Base):
    __tablename__ = "patient_versions"
    record_type: ClassVar[str] = "patient"
    index_fields: ClassVar[tuple[str, ...]] = ("record_number",)
    record_number: Mapped[str | None] = mapped_column(String(64), index=True)


class EpisodeRow(VersionedRow, Base):
    __tablename__ = "episode_versions"
    record_type: ClassVar[str] = "episode"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id",)
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
