"""Injection tables."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base


class InjectionSessionRow(VersionedRow, Base):
    __tablename__ = "injection_session_versions"
    # (the home page reads the sessions and self-reports recorded since yesterday; migration 0011)
    __table_args__ = (
        Index("ix_injection_session_versions_clinic_id_recorded_at", "clinic_id", "recorded_at"),
    )
    record_type: ClassVar[str] = "injection_session"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "episode_id")
    # no index of its own: the (clinic_id, recorded_at) index's prefix serves it (migration 0012)
    clinic_id: Mapped[str] = mapped_column(
        String(36), primary_key=True, sort_order=1
    )  # key: id, version, clinic
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    episode_id: Mapped[str | None] = mapped_column(String(36), index=True)


class AdverseEventRow(VersionedRow, Base):
    __tablename__ = "adverse_event_versions"
    record_type: ClassVar[str] = "adverse_event"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "session_id")
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)
