"""The worklist's one stored record type, what was done about an item (append-only versions), and
the due items derived from the records (a table kept up to date, not a record type)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Date, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base
from bontrack.storage.record_ids import RecordId


class WorklistActionRow(VersionedRow, Base):
    __tablename__ = "worklist_action_versions"
    record_type: ClassVar[str] = "worklist_action"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "item_key")
    patient_id: Mapped[str | None] = mapped_column(RecordId, index=True)
    item_key: Mapped[str | None] = mapped_column(String(120), index=True)


# the partial indexes' conditions (the queries that use them state the same terms)
FLAGS_ONLY = "kind = 'stop_review'"
ACTED_ONLY = "last_action IS NOT NULL"
EVENTS_ONLY = "kind = 'adverse_event'"


class DueItemRow(Base):
    """One item due for a patient, derived from their records (bontrack.scheduling.due): an outcome
    visit, the earliest re-injection, the next physical-therapy visit of a plan, or a
    stop-and-review flag (``kind`` "stop_review", dated by the last session judged), with the latest
    worklist action on it: ``snooze_until`` the day a snoozed item comes back. A flag that time
    alone turns on (a cycle awaiting its visits inside the run lapses on that day) is shown from
    ``shown_from`` (scheduling.derive, due_query.flag_on; migration 0021); None for every other
    item, and for a flag shown at once.

    Not a clinical record: the rows of a patient are deleted and written again whenever one of
    their records is written, and the whole table can be rebuilt from the records at any time.
    """

    __tablename__ = "due_items"
    # the pages' range queries (a clinic, a span of due dates) and their counts, read from the
    # indexes alone: the stop-and-review flags and the items with an action (few of the clinic's
    # history) each in a partial index of their own (migration 0017), so that counting them
    # does not test every item (bontrack.scheduling.actions._counts); the flags' index holds the
    # day each is shown from, so that the flags shown on a day are counted from it alone (0021);
    # the adverse events' follow-ups, listed whatever their due date while open, in one of their
    # own (0024), so that those due before the look-back are found without the clinic's history
    __table_args__ = (
        Index(
            "ix_due_items_clinic_id_due_date", "clinic_id", "due_date", "kind", "last_action", "snooze_until"
        ),
        Index(
            "ix_due_items_flags",
            "clinic_id",
            "kind",
            "due_date",
            "last_action",
            "shown_from",
            sqlite_where=text(FLAGS_ONLY),
            postgresql_where=text(FLAGS_ONLY),
        ),
        Index(
            "ix_due_items_acted",
            "clinic_id",
            "kind",
            "due_date",
            "last_action",
            "snooze_until",
            sqlite_where=text(ACTED_ONLY),
            postgresql_where=text(ACTED_ONLY),
        ),
        Index(
            "ix_due_items_events",
            "clinic_id",
            "due_date",
            "kind",
            "last_action",
            "snooze_until",
            sqlite_where=text(EVENTS_ONLY),
            postgresql_where=text(EVENTS_ONLY),
        ),
    )

    clinic_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    patient_id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    item_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    record_number: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(RecordId)
    plan_id: Mapped[str | None] = mapped_column(RecordId)
    clinician_id: Mapped[str | None] = mapped_column(RecordId)
    last_action: Mapped[str | None] = mapped_column(String(20))
    last_action_on: Mapped[dt.date | None] = mapped_column(Date)
    snooze_until: Mapped[dt.date | None] = mapped_column(Date)
    last_action_note: Mapped[str] = mapped_column(Text)
    shown_from: Mapped[dt.date | None] = mapped_column(Date)  # (last: added by migration 0021)
