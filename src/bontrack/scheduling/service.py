"""Scheduling: the due items and stop-and-review flags, read from the table kept as records are
written (bontrack.scheduling.due; the rules are bontrack.scheduling.derive's).

Each read is an indexed range query on the table (clinic, due date), audited as one entry with
the count of items read; only the patients listed are then read as records, and audited one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, select
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import list_scope
from bontrack.dates import shift
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads
from bontrack.scheduling import due
from bontrack.scheduling.derive import planned_dates
from bontrack.scheduling.models import DueItemRow
from bontrack.scheduling.schemas import STATUS_ORDER, DueItem, ReviewItem, Status
from bontrack.therapy.schemas import TherapyPlanCreate

T = DueItemRow.__table__.c  # the due_items table's columns
REVIEW = "stop_review"


def planned_therapy_dates(plan: TherapyPlanCreate) -> list[dt.date]:
    """Visit dates spread evenly over each week of the plan."""
    return planned_dates(plan.start_date, plan.visits_per_week, plan.weeks)


def _person(data: dict[str, Any]) -> dict[str, Any]:
    """The patient's name, birth date and contact, as a worklist row shows them."""
    return {
        "name": str(data.get("name") or ""),
        "birth_date": data.get("birth_date"),
        "phone": str(data.get("phone") or ""),
        "email": str(data.get("email") or ""),
    }


def _status(due: dt.date, today: dt.date, kind: str) -> Status:
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
        key=lambda r: (STATUS_ORDER[_status(r.due_date, today, r.kind)], r.due_date, r.record_number, r.kind),
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
            status=_status(r.due_date, today, r.kind),
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
            **_person(patients[r.patient_id].data),
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
            **_person(patients[r.patient_id].data),
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


def worklist(
    *,
    db: Session,
    actor: str,
    today: dt.date,
    horizon_days: int = 14,
    clinic_id: str | None = None,
    keep: Callable[[str, dt.date], bool] | None = None,
) -> list[DueItem]:
    """What is due up to ``today + horizon_days``, overdue first, then by date (no look-back: a
    missed outcome visit stays overdue until a later session lapses it).

    One range query on the due items (audited with the count); the patients listed are then read
    and audited one by one. ``keep(key, due)``: whether to list an item (decided before any
    patient is read).
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must be >= 0")
    clinic_id = list_scope(actor, clinic_id)
    due.current(db)
    rows = due_rows(db, today, *in_scope(clinic_id), T.due_date <= shift(today, horizon_days))
    audit_reads(
        db, actor=actor, clinic_id=clinic_id, purpose="worklist: due items", read={"due_item": len(rows)}
    )
    if keep is not None:
        rows = [r for r in rows if keep(r.item_key, r.due_date)]
    return items_of(db, actor, rows, today, "worklist")


def next_due(
    *, db: Session, actor: str, today: dt.date, horizon_days: int, clinic_id: str | None
) -> dict[str, tuple[dt.date, str]]:
    """Each patient's earliest item due up to ``today + horizon_days``: (date, what). Audited as one
    read of the due items with the count (no patient is read here)."""
    clinic_id = list_scope(actor, clinic_id)
    due.current(db)
    query = select(T.patient_id, T.due_date, T.what).where(
        T.kind != REVIEW, *in_scope(clinic_id), T.due_date <= shift(today, horizon_days)
    )
    found: dict[str, tuple[dt.date, str]] = {}
    n = 0
    for patient_id, day, what in db.execute(query.order_by(T.due_date, T.kind)):
        n += 1
        if patient_id not in found:
            found[patient_id] = (day, what)
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose="patient list: next due", read={"due_item": n})
    return found


def stop_and_review(*, db: Session, actor: str, clinic_id: str | None = None) -> list[ReviewItem]:
    """Patients whose latest cycles brought no response (knowledge: pathway.stop_review_cycles_
    without_response, judged by pathway.cycle_response): review before another injection.

    The clinic report's rule (analytics.review), kept per patient in the due items; one query,
    audited with the count; then only the patients to review are read, and audited one by one.
    """
    clinic_id = list_scope(actor, clinic_id)
    purpose = "worklist: stop-and-review"
    due.current(db)
    rows = review_rows(db, *in_scope(clinic_id))
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read={"due_item": len(rows)})
    return reviews_of(db, actor, rows, purpose)
