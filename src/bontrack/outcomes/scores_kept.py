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
from sqlalchemy import Table
from sqlalchemy.orm import Session

from bontrack.outcomes.models import OUTCOME_PATHS, OutcomeRow, OutcomeScoreRow
from bontrack.storage.kept import KeptByPatient
from bontrack.storage.typed_values import as_date, as_number, as_text
from bontrack.storage.unit import derived_up_to_date

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


def _read(db: Session, clinic_id: str, patient_ids: Sequence[str] | None) -> list[tuple[Any, ...]]:
    from bontrack.scheduling.due import current_fields

    return current_fields(db, OutcomeRow, clinic_id, patient_ids, [*OUTCOME_PATHS, SCORES])


KEPT = KeptByPatient(TABLE, OutcomeRow, _read, outcome_rows, PATIENTS_PER_QUERY)
has_table, refresh_patients, rebuild = KEPT.has_table, KEPT.refresh_patients, KEPT.rebuild
derive_clinic, kept = KEPT.derive_clinic, KEPT.kept


current = derived_up_to_date  # brings the table up to date before it is read
