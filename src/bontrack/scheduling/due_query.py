"""The due items table's reads shared by the worklist, the worked worklist and the home page: rows
in the order the worklist shows them (in SQL, for the page asked), made DueItems and ReviewItems
with their patients (read and audited). Callers scope and audit (bontrack.scheduling.service,
.actions, .today)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, select
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.patients.models import PatientRow
from bontrack.scheduling.models import DueItemRow
from bontrack.scheduling.schemas import STATUS_ORDER, DueItem, ReviewItem, Status

T = DueItemRow.__table__.c  # the due_items table's columns
REVIEW = "stop_review"


def person(data: dict[str, Any]) -> dict[str, Any]:
    """The patient's name, birth date and contact, as a worklist row shows them."""
    return {
        "name": str(data.get("name") or ""),
        "birth_date": data.get("birth_date"),
        "phone": str(data.get("phone") or ""),
        "email": str(data.get("email") or ""),
    }


def status_of(due: dt.date, today: dt.date, kind: str) -> Status:
    if kind == "reinjection":
        return "eligible" if due <= today else "upcoming"
    return "overdue" if due < today else "due" if due == today else "upcoming"


def status_rank(today: dt.date) -> ColumnElement[int]:
    """STATUS_ORDER of a row, in SQL (overdue, due today, eligible, upcoming)."""
    return case(
        (T.kind == "reinjection", case((T.due_date <= today, STATUS_ORDER["eligible"]), else_=3)),
        (T.due_date < today, STATUS_ORDER["overdue"]),
        (T.due_date == today, STATUS_ORDER["due"]),
        else_=STATUS_ORDER["upcoming"],
    )


def in_scope(clinic_id: str | None) -> tuple[ColumnElement[bool], ...]:
    return () if clinic_id is None else (T.clinic_id == clinic_id,)


def due_rows(
    db: Session,
    today: dt.date,
    *where: ColumnElement[bool],
    limit: int | None = None,
    offset: int = 0,
) -> list[Row[Any]]:
    """Rows of the due items (not stop-and-review) meeting ``where``, overdue first, then by date,
    record number and kind (sorted in SQL for the page asked, and again here the same way)."""
    query = (
        select(DueItemRow.__table__)
        .where(T.kind != REVIEW, *where)
        .order_by(status_rank(today), T.due_date, T.record_number, T.kind)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = list(db.execute(query))
    return sorted(
        rows,
        key=lambda r: (
            STATUS_ORDER[status_of(r.due_date, today, r.kind)],
            r.due_date,
            r.record_number,
            r.kind,
        ),
    )


def items_of(
    db: Session,
    actor: str,
    rows: Sequence[Row[Any]],
    today: dt.date,
    purpose: str,
    patients: dict[str, PatientRow] | None = None,
) -> list[DueItem]:
    """The rows as DueItems, with each patient's name and contact (the patients read and audited,
    unless the caller read them: ``patients``)."""
    if patients is None:
        patients = records.get_many(
            db, row_cls=PatientRow, record_ids=[r.patient_id for r in rows], actor=actor, purpose=purpose
        )
    return [
        DueItem(
            status=status_of(r.due_date, today, r.kind),
            due_date=r.due_date,
            kind=r.kind,
            clinic_id=r.clinic_id,
            patient_id=r.patient_id,
            record_number=r.record_number,
            what=r.what,
            session_id=r.session_id,
            plan_id=r.plan_id,
            clinician_id=r.clinician_id,
            last_action=r.last_action,
            last_action_on=r.last_action_on,
            last_action_note=r.last_action_note if r.last_action else "",
            **person(patients[r.patient_id].data),
        )
        for r in rows
        if r.patient_id in patients
    ]


def reviews_of(db: Session, actor: str, rows: Sequence[Row[Any]], purpose: str) -> list[ReviewItem]:
    patients = records.get_many(
        db, row_cls=PatientRow, record_ids=[r.patient_id for r in rows], actor=actor, purpose=purpose
    )
    return [
        ReviewItem(
            clinic_id=r.clinic_id,
            patient_id=r.patient_id,
            record_number=r.record_number,
            **person(patients[r.patient_id].data),
            last_session_id=r.session_id,
            last_session_date=r.due_date,
            what=r.what,
        )
        for r in rows
        if r.patient_id in patients
    ]


def review_rows(db: Session, *where: ColumnElement[bool], limit: int | None = None) -> list[Row[Any]]:
    """Stop-and-review rows meeting ``where``, the oldest last session first."""
    query = select(DueItemRow.__table__).where(T.kind == REVIEW, *where).order_by(T.due_date, T.record_number)
    rows = list(db.execute(query if limit is None else query.limit(limit)))
    return sorted(rows, key=lambda r: (r.due_date, r.record_number))


def count(db: Session, *where: ColumnElement[bool]) -> int:
    return int(db.scalar(select(func.count()).select_from(DueItemRow.__table__).where(*where)) or 0)
