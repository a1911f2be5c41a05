"""A table derived, patient by patient, from the current versions of one record type, and kept as
records are written: ``outcome_scores`` (bontrack.outcomes.scores_kept) and ``session_fields``
(bontrack.injections.fields_kept).

The unit of work notes the patients it wrote (bontrack.storage.derived) and, before it commits,
``refresh_patients`` derives their rows again, a chunk of patients a query; ``rebuild`` (a
migration) derives the table from scratch; ``derive_clinic`` derives it without writing (the tests
compare it with ``kept``). A record never moves to another patient (a correction keeps its
patient), so only the patients written need it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from bontrack.storage import derived
from bontrack.storage.record_ids import no_index
from bontrack.storage.unit import derived_rows

# the current versions' fields of a clinic's patients (None: all of them), as tuples
Read = Callable[[Session, str, Sequence[str] | None], Sequence[Sequence[Any]]]
# a clinic's table rows from those tuples
Rows = Callable[[str, Iterable[Sequence[Any]]], list[dict[str, Any]]]


@dataclass(frozen=True)
class KeptByPatient:
    """``table`` derived from the current versions of ``source`` (a versioned row class) by
    ``read`` then ``rows``; ``per_query`` patients derived together (ids bound in one IN list)."""

    table: Table
    source: type[Any]
    read: Read
    rows: Rows
    per_query: int = 1000

    def has_table(self, db: Session) -> bool:
        """Whether the database has the table yet (a registry at an older schema has not: nothing
        is kept until its migration derives it all; the report then reads the records' JSON)."""
        return derived.has_table(db, self.table.name)

    def _of_patients(self, db: Session, clinic_id: str, chunk: list[str]) -> Any:
        clinic: Any = self.table.c.clinic_id
        if db.get_bind().dialect.name == "sqlite":  # by the patients' index, not the clinic's key
            clinic = no_index(clinic)  # (as bontrack.scheduling.due reads a chunk of patients)
        return delete(self.table).where(clinic == clinic_id, self.table.c.patient_id.in_(chunk))

    def refresh_patients(self, db: Session, touched: dict[str, set[str]]) -> None:
        """Derive again the rows of the patients touched (clinic id -> patient ids), replacing theirs."""
        if not self.has_table(db):
            return
        for clinic_id, patient_ids in touched.items():
            for chunk in derived.in_parts(patient_ids, self.per_query):
                derived.one_writer(db, self.table.name, clinic_id, chunk)
                rows = self.rows(clinic_id, self.read(db, clinic_id, chunk))
                db.execute(self._of_patients(db, clinic_id, chunk))
                if rows:
                    db.execute(insert(self.table), rows)

    def _clinics(self, db: Session, clinic_id: str | None) -> list[str]:
        return [clinic_id] if clinic_id else list(db.scalars(select(self.source.clinic_id).distinct()))

    def rebuild(self, db: Session, clinic_id: str | None = None) -> int:
        """Derive the table again from scratch for a clinic (None: every clinic); returns the rows."""
        derived.refresh(db)  # (what is pending is rewritten below anyway)
        table = self.table
        db.execute(delete(table).where(table.c.clinic_id == clinic_id) if clinic_id else delete(table))
        written = 0
        for clinic in self._clinics(db, clinic_id):
            query = select(self.source.patient_id).where(self.source.clinic_id == clinic).distinct()
            patients = [p for p in db.scalars(query) if p is not None]
            for chunk in derived.in_parts(patients, self.per_query):
                rows = self.rows(clinic, self.read(db, clinic, chunk))
                if rows:
                    db.execute(insert(table), rows)
                written += len(rows)
        return written

    def derive_clinic(self, db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
        """Every row of a clinic (None: of every clinic), derived from scratch from the records."""
        rows: list[dict[str, Any]] = []
        for clinic in self._clinics(db, clinic_id):
            rows += self.rows(clinic, self.read(db, clinic, None))
        return rows

    def kept(self, db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
        """The rows the table holds for a clinic (None: every clinic), after any pending refresh."""
        return derived_rows(db, self.table, clinic_id)
