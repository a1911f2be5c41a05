"""Injection tables, and the sessions' fields the report reads, derived from them (session_fields)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Boolean, Date, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


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
        RecordId, primary_key=True, sort_order=1
    )  # key: id, version, clinic
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    episode_id: Mapped[str | None] = mapped_column(RecordId, index=True)


class AdverseEventRow(VersionedRow, Base):
    __tablename__ = "adverse_event_versions"
    record_type: ClassVar[str] = "adverse_event"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "session_id")
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    session_id: Mapped[str | None] = mapped_column(RecordId, index=True)


class SessionFieldRow(Base):
    """A session's current version (newest, not withdrawn) in the typed columns the report reads
    (bontrack.reports.data's session fields, typed as the report typed them from the JSON:
    bontrack.injections.fields_kept), so the report reads these columns, not every version's
    whole JSON.

    Not a clinical record: a patient's rows are deleted and written again whenever one of their
    sessions is written, and the whole table can be derived again from the records at any time.
    """

    __tablename__ = "session_fields"

    clinic_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    session_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    # the session's patient_id as the report reads it from the JSON (any value's text): text
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    date: Mapped[dt.date | None] = mapped_column(Date)
    product: Mapped[str | None] = mapped_column(Text)
    total_units: Mapped[float | None] = mapped_column(Float)
    physical_therapy: Mapped[bool] = mapped_column(Boolean)  # a JSON true (anything else: False)
    decision: Mapped[str | None] = mapped_column(Text)  # decision.decision
    override: Mapped[bool] = mapped_column(Boolean)  # an override there (not missing, not null)
    vial_units: Mapped[float | None] = mapped_column(Float)
    vial_count: Mapped[float | None] = mapped_column(Float)
