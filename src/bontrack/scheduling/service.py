"""Scheduling: the due items and stop-and-review flags, read from the table kept as records are
written (bontrack.scheduling.due; the rules are bontrack.scheduling.derive's).

Each read is an indexed range query on the table (clinic, due date), audited as one entry with
the count of items read; only the patients listed are then read as records, and audited one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.actor import list_scope
from bontrack.dates import shift
from bontrack.queries import audit_reads
from bontrack.scheduling import due
from bontrack.scheduling.derive import planned_dates
from bontrack.scheduling.due_query import (
    REVIEW,
    T,
    due_rows,
    flag_on,
    in_scope,
    items_of,
    review_rows,
    reviews_of,
)
from bontrack.scheduling.due_query import status_of as _status  # noqa: F401  (the tests' name)
from bontrack.scheduling.schemas import DueItem, ReviewItem
from bontrack.therapy.schemas import TherapyPlanCreate


def planned_therapy_dates(plan: TherapyPlanCreate) -> list[dt.date]:
    """Visit dates spread evenly over each week of the plan."""
    return planned_dates(plan.start_date, plan.visits_per_week, plan.weeks)


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


def stop_and_review(
    *, db: Session, actor: str, today: dt.date, clinic_id: str | None = None
) -> list[ReviewItem]:
    """Patients whose latest judged cycles brought no response on ``today`` (knowledge:
    pathway.stop_review_cycles_without_response, judged by pathway.cycle_response; a cycle whose
    visits were missed is skipped): review before another injection.

    The clinic report's rule (analytics.review), kept per patient in the due items; one query,
    audited with the count; then only the patients to review are read, and audited one by one.
    """
    clinic_id = list_scope(actor, clinic_id)
    purpose = "worklist: stop-and-review"
    due.current(db)
    rows = review_rows(db, *in_scope(clinic_id), flag_on(today))
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read={"due_item": len(rows)})
    return reviews_of(db, actor, rows, purpose)
