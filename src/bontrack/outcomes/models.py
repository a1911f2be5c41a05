"""The outcome measurement table, and the current scores derived from it (outcome_scores)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Date, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId

# The fields of an outcome every per-patient reading of them takes (the report's frames, the due
# items and the current scores derived as outcomes are written): here, beside the table, so the
# writers' refreshers need not import the data-frame module (bontrack.queries: pandas).
OUTCOME_PATHS = ("patient_id", "session_id", "weeks_after_session", "date", "instrument")


class OutcomeRow(VersionedRow, Base):
    __tablename__ = "outcome_versions"
    # (the home page reads the sessions and self-reports recorded since yesterday; migration 0011)
    __table_args__ = (Index("ix_outcome_versions_clinic_id_recorded_at", "clinic_id", "recorded_at"),)
    record_type: ClassVar[str] = "outcome"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "session_id")
    # no index of its own: the (clinic_id, recorded_at) index's prefix serves it (migration 0012)
    clinic_id: Mapped[str] = mapped_column(
        RecordId, primary_key=True, sort_order=1
    )  # key: id, version, clinic
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    session_id: Mapped[str | None] = mapped_column(RecordId, index=True)


class OutcomeScoreRow(Base):
    """An outcome's current version (newest, not withdrawn) in typed columns, with its scores:
    derived from the records (bontrack.outcomes.scores_kept) so the report reads these columns
    and each outcome's small object of scores, not every version's whole JSON. ``scores`` is the
    version's ``scoring.scores`` as compact JSON text, as stored (NULL when it has none).

    Not a clinical record: a patient's rows are deleted and written again whenever one of their
    outcomes is written, and the whole table can be derived again from the records at any time.
    """

    __tablename__ = "outcome_scores"

    clinic_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    outcome_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    session_id: Mapped[str | None] = mapped_column(RecordId)
    weeks_after_session: Mapped[float | None] = mapped_column(Float)
    date: Mapped[dt.date | None] = mapped_column(Date)
    instrument: Mapped[str | None] = mapped_column(String(64))
    scores: Mapped[str | None] = mapped_column(Text)
