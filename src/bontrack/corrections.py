"""Correcting and withdrawing records: the rules every record type shares.

A correction is a new version with the reason; a withdrawal is a new version marked withdrawn,
with the reason. Nothing is deleted, and ``records.history`` shows every version.

Withdrawing a record that other current records refer to is refused (``ConflictError``, 409 on
the web), for every record type alike: a patient with current episodes, screenings, sessions ...;
an episode with current examinations, therapy plans, sessions or outcomes; an injection session
with current adverse events or follow-up outcomes; a therapy plan with current visits.

Why refuse rather than withdraw and leave the dependants in place: the registry relies on
"nothing current points at a withdrawn record". Reports count current sessions, outcomes and
adverse events; the decision engine judges the next session from the current history; the
worklist schedules follow-ups from current sessions. A dependant left pointing at a withdrawn
record would be counted, scheduled or judged against a record that no longer counts, without
anyone having looked at it. An adverse event is a safety report and must never quietly lose its
session. Only the clinician knows whether each dependant was also entered in error (withdraw it,
with its own reason) or belongs elsewhere (correct its link), so the registry names them and
lets the clinician decide, one record and one reason at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import sees
from bontrack.errors import ConflictError, InputError, require_reason
from bontrack.kinds import BY_NAME, referring
from bontrack.record_lookups import audit_read
from bontrack.records import R, VersionedRow
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import newest_versions
from bontrack.writers import check_writer

check_reason = require_reason  # the one "give a reason" check lives in bontrack.errors


def same_patient(new_patient_id: str, current_patient_id: str, record_type: str) -> None:
    """A correction cannot move a record to another patient (withdraw it and record it there)."""
    if new_patient_id != current_patient_id:
        raise InputError.one(
            "patient_id",
            f"a {record_type.replace('_', ' ')} cannot move to another patient; "
            "withdraw it and record it for the right patient",
        )


def current(db: Session, *, row_cls: type[R], record_id: str, actor: str) -> R:
    """The current version of the record being corrected or withdrawn (audited; withdrawn: 404)."""
    return records.get(
        db, row_cls=row_cls, record_id=record_id, actor=actor, field="id", purpose="correction"
    )


def check_rewriter(
    actor: str, row: VersionedRow, action: Literal["update", "withdraw"], data: BaseModel | None = None
) -> None:
    """Refuse correcting (``update``, to ``data``) or withdrawing ``row`` by a role that may not
    record it: its kind's one rule (bontrack.writers), for the record as it stands and as
    corrected. 403 on every face, audited as a denied attempt."""
    kind = BY_NAME[row.record_type]
    for record in (row.data, data):
        if record is not None:
            check_writer(actor, kind, record, action=action, record_id=row.id, clinic_id=row.clinic_id)


def referrers(db: Session, *, actor: str, row: VersionedRow) -> list[VersionedRow]:
    """Current records that name this one (by the references the kinds declare)."""
    patient_id = BY_NAME[row.record_type].owner(row)
    found: list[VersionedRow] = []
    for kind, fields in referring(row.record_type):
        for other in records.find_current(
            db, row_cls=kind.row, actor=actor, purpose="withdrawal check", patient_id=patient_id
        ):
            if any(other.data.get(name) == row.id for name in fields):
                found.append(other)
    return found


def _plural(kind: str, n: int) -> str:
    words = kind.replace("_", " ")
    return f"{n} {words}" if n == 1 else f"{n} {words}s"


def withdraw(db: Session, *, row_cls: type[R], record_id: str, actor: str, reason: str) -> R:
    """Withdraw a record that no current record refers to (else ConflictError naming them)."""
    check_reason(reason, "withdrawn")
    row = current(db, row_cls=row_cls, record_id=record_id, actor=actor)
    check_rewriter(actor, row, "withdraw")
    dependants = referrers(db, actor=actor, row=row)
    if dependants:
        counts = Counter(d.record_type for d in dependants)
        listed = ", ".join(_plural(kind, n) for kind, n in counts.items())
        what = row_cls.record_type.replace("_", " ")
        raise ConflictError.one(
            "id",
            f"this {what} cannot be withdrawn while current records refer to it ({listed}); "
            "correct or withdraw those first, each with its own reason",
        )
    return records.withdraw(db, row_cls=row_cls, record_id=record_id, actor=actor, reason=reason)


def withdrawn_of_patient(
    db: Session, *, row_cls: type[R], actor: str, patient_id: str, ids: Collection[str] | None = None
) -> list[R]:
    """A patient's records of one type whose newest version is withdrawn (the chart's "show
    withdrawn"); audited as reads. ``ids``: only those of these ids (the others not read)."""
    writer_of(db).flush(db)
    column = "patient_id"  # every record type a patient has indexes it
    among = row_cls.id.in_(select(row_cls.id).where(getattr(row_cls, column) == patient_id))
    query = newest_versions(row_cls, among=among, withdrawn=True).order_by(row_cls.recorded_at, row_cls.id)
    rows = [row for row in db.scalars(query) if sees(actor, row.clinic_id) and (ids is None or row.id in ids)]
    audit_read(db, rows, actor, "withdrawn records")
    return rows
