"""The current outcomes and their scores kept as records are written: the ``outcome_scores`` table
(bontrack.outcomes.models.OutcomeScoreRow), read by the report (bontrack.reports.data) in typed
columns instead of every outcome version's whole JSON.

One row per current outcome (newest version, not withdrawn): its clinic, id, patient, session,
weeks after the session, date and instrument in typed columns (typed as the report typed them
from the JSON, bontrack.reports.columnar: weeks a number, a text of a number read as one, anything
else missing; the date a date), and its ``scoring.scores`` object as compact JSON text, from which
the report types each score as it typed it from the whole record. (One row per score was tried
first: 2.3 times the rows and their repeated ids cost more to read than the JSON they replaced.)

Kept as the due items are (bontrack.scheduling.due, bontrack.storage.derived): whenever an
outcome is written (created, corrected or withdrawn) the unit of work notes its patient and, before
it commits, their rows are derived again from their current outcomes; a bulk block (the demo
generator, an import) derives all its patients at its commit, a thousand a query. An outcome never
moves to another patient (a correction keeps its patient), so only the patients written need it.
``rebuild`` (migration 0014) derives the table from scratch. Nothing here is audited: no person
reads it here (the report audits what it reads).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from bontrack.outcomes.models import OutcomeRow, OutcomeScoreRow
from bontrack.queries import OUTCOME_PATHS
from bontrack.storage import derived
from bontrack.storage.typed_values import as_date, as_number, as_text
from bontrack.storage.unit import derived_rows, derived_up_to_date

TABLE = cast(Table, OutcomeScoreRow.__table__)
PATIENTS_PER_QUERY = 1000  # patients derived together (ids bound in one IN list)
SCORES = "scoring.scores"


def outcome_rows(clinic_id: str, outcomes: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows of current outcomes given as (id, *OUTCOME_PATHS' values, the scores' object)."""
    rows = []
    for outcome_id, patient, session, weeks, day, instrument, scores in outcomes:
        rows.append(
            {
                "clinic_id": clinic_id,
                "outcome_id": outcome_id,
                "patient_id": as_text(patient),
                "session_id": as_text(session),
                "weeks_after_session": as_number(weeks),
                "date": as_date(day),
                "instrument": as_text(instrument),
                # the object as stored (compact JSON): the report types each score from it as it
                # typed it from the whole record
                "scores": orjson.dumps(scores).decode() if isinstance(scores, dict) else None,
            }
        )
    return rows


def _read(db: Session, clinic_id: str, patient_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    from bontrack.scheduling.due import current_fields

    return current_fields(db, OutcomeRow, clinic_id, patient_ids, [*OUTCOME_PATHS, SCORES])


def has_table(db: Session) -> bool:
    """Whether the database has the table yet (a registry at an older schema has not: nothing is
    kept until migration 0014 derives it all; the report then reads the outcomes' JSON)."""
    return derived.has_table(db, OutcomeScoreRow.__tablename__)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    return derived.in_parts(ids, PATIENTS_PER_QUERY)


def _of_patients(db: Session, clinic_id: str, chunk: list[str]) -> Any:
    clinic: Any = TABLE.c.clinic_id
    if db.get_bind().dialect.name == "sqlite":  # by the patients' index, not the clinic's key
        clinic = clinic + ""  # (as bontrack.scheduling.due reads a chunk of patients)
    return delete(TABLE).where(clinic == clinic_id, TABLE.c.patient_id.in_(chunk))


def refresh_patients(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the scores of the patients touched (clinic id -> patient ids), replacing theirs."""
    if not has_table(db):
        return
    for clinic_id, patient_ids in touched.items():
        for chunk in _chunks(patient_ids):
            rows = outcome_rows(clinic_id, _read(db, clinic_id, chunk))
            db.execute(_of_patients(db, clinic_id, chunk))
            if rows:
                db.execute(insert(TABLE), rows)


def rebuild(db: Session, clinic_id: str | None = None) -> int:
    """Derive the table again from scratch for a clinic (None: every clinic); returns the rows."""
    derived.refresh(db)  # (what is pending is rewritten below anyway)
    db.execute(delete(TABLE).where(TABLE.c.clinic_id == clinic_id) if clinic_id else delete(TABLE))
    clinics = [clinic_id] if clinic_id else list(db.scalars(select(OutcomeRow.clinic_id).distinct()))
    written = 0
    for clinic in clinics:
        query = select(OutcomeRow.patient_id).where(OutcomeRow.clinic_id == clinic).distinct()
        patients = [p for p in db.scalars(query) if p is not None]
        for chunk in _chunks(patients):
            rows = outcome_rows(clinic, _read(db, clinic, chunk))
            if rows:
                db.execute(insert(TABLE), rows)
            written += len(rows)
    return written


def derive_clinic(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """Every row of a clinic (None: of every clinic), derived from scratch from the records."""
    from bontrack.scheduling.due import current_fields

    clinics = [clinic_id] if clinic_id else list(db.scalars(select(OutcomeRow.clinic_id).distinct()))
    rows: list[dict[str, Any]] = []
    for clinic in clinics:
        rows += outcome_rows(clinic, current_fields(db, OutcomeRow, clinic, None, [*OUTCOME_PATHS, SCORES]))
    return rows


def kept(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """The rows the table holds for a clinic (None: every clinic), after any pending refresh."""
    return derived_rows(db, TABLE, clinic_id)


current = derived_up_to_date  # brings the table up to date before it is read
