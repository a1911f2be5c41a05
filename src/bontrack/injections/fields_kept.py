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
from sqlalchemy import Table
from sqlalchemy.orm import Session

from bontrack.injections.models import InjectionSessionRow, SessionFieldRow
from bontrack.storage.kept import KeptByPatient
from bontrack.storage.typed_values import as_date, as_number, as_text
from bontrack.storage.unit import derived_up_to_date

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


KEPT = KeptByPatient(TABLE, InjectionSessionRow, _read, session_rows, PATIENTS_PER_QUERY)
has_table, refresh_patients, rebuild = KEPT.has_table, KEPT.refresh_patients, KEPT.rebuild
derive_clinic, kept = KEPT.derive_clinic, KEPT.kept


current = derived_up_to_date  # brings the table up to date before it is read
