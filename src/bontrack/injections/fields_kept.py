"""The current sessions' fields the report reads, kept as records are written: the
``session_fields`` table (bontrack.injections.models.SessionFieldRow), read by the report
(bontrack.reports.data) in typed columns instead of every session version's whole JSON.

One row per current session (newest version, not withdrawn): its clinic, id and the fields the
report reads (``SESSION_PATHS``: exactly those of bontrack.reports.data's session fields), typed
as the report typed them from the JSON (bontrack.reports.columnar): a text as DuckDB's
json_extract_string gives it, a number as its try_cast to a double (anything else missing), the
date a date (the report clamps it on reading, as from the JSON), ``physical_therapy`` True only
for a JSON true, ``override`` True when there and not null.

Kept as the outcomes' scores are (bontrack.outcomes.scores_kept, bontrack.storage.derived):
whenever a session is written (created, corrected or withdrawn) the unit of work notes its
patient and, before it commits, their rows are derived again from their current sessions; a bulk
block (the demo generator, an import) derives all its patients at its commit, a thousand a query.
A session never moves to another patient (a correction keeps its patient), so only the patients
written need it. ``rebuild`` (migration 0015) derives the table from scratch. Nothing here is
audited: no person reads it here (the report audits what it reads).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from bontrack.injections.models import InjectionSessionRow, SessionFieldRow
from bontrack.storage import derived
from bontrack.storage.typed_values import as_date, as_number, as_text
from bontrack.storage.unit import derived_rows, derived_up_to_date

TABLE = cast(Table, SessionFieldRow.__table__)
PATIENTS_PER_QUERY = 1000  # patients derived together (ids bound in one IN list)

# the session fields the report reads (bontrack.reports.data.SESSION_FIELDS): path -> kind, in
# the order of the table's columns (a path's last key names its column)
SESSION_PATHS: dict[str, str] = {
    "patient_id": "text",
    "date": "date",
    "product": "text",
    "total_units": "number",
    "physical_therapy": "flag",
    "decision.decision": "text",
    "override": "present",
    "vial_units": "number",
    "vial_count": "number",
}


def _text(value: Any) -> str | None:
    """A JSON value's text as the report reads it (json_extract_string): an object or a list as
    its compact JSON (a scalar: storage.typed_values.as_text)."""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return as_text(value)


_TYPED = {"text": _text, "number": as_number, "date": as_date}


def column(path: str) -> str:
    """The table's column of a field's path."""
    return path.rsplit(".", 1)[-1]


def session_rows(clinic_id: str, sessions: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows of current sessions given as (id, *SESSION_PATHS' values)."""
    rows = []
    for session_id, *values in sessions:
        row: dict[str, Any] = {"clinic_id": clinic_id, "session_id": session_id}
        for (path, kind), value in zip(SESSION_PATHS.items(), values, strict=True):
            if kind == "flag":  # only a JSON true
                typed: Any = value is True
            elif kind == "present":
                typed = value is not None
            else:
                typed = _TYPED[kind](value)
            row[column(path)] = typed
        rows.append(row)
    return rows


def _read(db: Session, clinic_id: str, patient_ids: Sequence[str] | None) -> list[tuple[Any, ...]]:
    from bontrack.scheduling.due import current_fields

    return current_fields(db, InjectionSessionRow, clinic_id, patient_ids, list(SESSION_PATHS))


def has_table(db: Session) -> bool:
    """Whether the database has the table yet (a registry at an older schema has not: nothing is
    kept until migration 0015 derives it all; the report then reads the sessions' JSON)."""
    return derived.has_table(db, SessionFieldRow.__tablename__)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    return derived.in_parts(ids, PATIENTS_PER_QUERY)


def _of_patients(db: Session, clinic_id: str, chunk: list[str]) -> Any:
    clinic: Any = TABLE.c.clinic_id
    if db.get_bind().dialect.name == "sqlite":  # by the patients' index, not the clinic's key
        clinic = clinic + ""  # (as bontrack.scheduling.due reads a chunk of patients)
    return delete(TABLE).where(clinic == clinic_id, TABLE.c.patient_id.in_(chunk))


def refresh_patients(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the sessions' rows of the patients touched (clinic id -> patient ids)."""
    if not has_table(db):
        return
    for clinic_id, patient_ids in touched.items():
        for chunk in _chunks(patient_ids):
            rows = session_rows(clinic_id, _read(db, clinic_id, chunk))
            db.execute(_of_patients(db, clinic_id, chunk))
            if rows:
                db.execute(insert(TABLE), rows)


def rebuild(db: Session, clinic_id: str | None = None) -> int:
    """Derive the table again from scratch for a clinic (None: every clinic); returns the rows."""
    derived.refresh(db)  # (what is pending is rewritten below anyway)
    db.execute(delete(TABLE).where(TABLE.c.clinic_id == clinic_id) if clinic_id else delete(TABLE))
    row = InjectionSessionRow
    clinics = [clinic_id] if clinic_id else list(db.scalars(select(row.clinic_id).distinct()))
    written = 0
    for clinic in clinics:
        patients = [
            p for p in db.scalars(select(row.patient_id).where(row.clinic_id == clinic).distinct()) if p
        ]
        for chunk in _chunks(patients):
            rows = session_rows(clinic, _read(db, clinic, chunk))
            if rows:
                db.execute(insert(TABLE), rows)
            written += len(rows)
    return written


def derive_clinic(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """Every row of a clinic (None: of every clinic), derived from scratch from the records."""
    row = InjectionSessionRow
    clinics = [clinic_id] if clinic_id else list(db.scalars(select(row.clinic_id).distinct()))
    rows: list[dict[str, Any]] = []
    for clinic in clinics:
        rows += session_rows(clinic, _read(db, clinic, None))
    return rows


def kept(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """The rows the table holds for a clinic (None: every clinic), after any pending refresh."""
    return derived_rows(db, TABLE, clinic_id)


current = derived_up_to_date  # brings the table up to date before it is read
