"""The patient list with what a clinic sorts it by: age, last visit, next due.

Every current patient of the clinic (matching the search) is read, because a list sorted by last
visit or next due cannot be paged by the database: the dates are derived. The last visit is the
latest session, therapy visit or outcome form; the next due date is the earliest item of the
scheduling rules (``scheduling.service.worklist``: overdue ones count, as their date). The reads
are audited like the worklist's: one entry per record type read clinic-wide, and the patients one
by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import page_patients
from bontrack.reports.data import audit_reads, current_frame
from bontrack.therapy.models import TherapyVisitRow

SortKey = Literal["name", "record_number", "age", "last_visit", "next_due"]
SORT_KEYS: tuple[SortKey, ...] = ("name", "record_number", "age", "last_visit", "next_due")
# how far ahead the next due item is looked for (a year covers every rule's interval)
NEXT_DUE_HORIZON_DAYS = 366
ALL = 1_000_000


@dataclass(frozen=True)
class ListedPatient:
    patient: PatientRead
    age: int
    last_visit: dt.date | None
    next_due: dt.date | None
    next_due_what: str | None


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def list_patients(
    *,
    db: Session,
    actor: str,
    clinic_id: str | None,
    today: dt.date,
    search: str | None = None,
    sort: SortKey = "name",
    descending: bool = False,
) -> list[ListedPatient]:
    """Every current patient (of a clinic, or of every clinic) matching ``search``, sorted; a
    patient without a last visit or next due date comes last whichever the direction."""
    from bontrack.scheduling.service import worklist

    _total, patients = page_patients(
        db=db, actor=actor, clinic_id=clinic_id, limit=ALL, offset=0, search=search
    )
    last: dict[str, dt.date] = {}
    read: dict[str, int] = {}
    for row_cls in (InjectionSessionRow, TherapyVisitRow, OutcomeRow):
        frame = current_frame(db, row_cls, clinic_id, ("patient_id", "date"))
        read[row_cls.record_type] = len(frame)
        for patient_id, day in zip(frame["patient_id"], frame["date"], strict=True):
            date = dt.date.fromisoformat(str(day))
            if date <= today and (patient_id not in last or date > last[patient_id]):
                last[patient_id] = date
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose="patient list: last visit", read=read)
    due: dict[str, tuple[dt.date, str]] = {}
    wanted = {p.id for p in patients}
    for item in worklist(
        db=db, actor=actor, today=today, horizon_days=NEXT_DUE_HORIZON_DAYS, clinic_id=clinic_id
    ):
        if item.patient_id in wanted and (
            item.patient_id not in due or item.due_date < due[item.patient_id][0]
        ):
            due[item.patient_id] = (item.due_date, item.what)
    rows = [
        ListedPatient(
            patient=p,
            age=age_on(p.data.birth_date, today),
            last_visit=last.get(p.id),
            next_due=due[p.id][0] if p.id in due else None,
            next_due_what=due[p.id][1] if p.id in due else None,
        )
        for p in patients
    ]
    return _sorted(rows, sort, descending)


def _sorted(rows: list[ListedPatient], sort: SortKey, descending: bool) -> list[ListedPatient]:
    tie = {id(r): (r.patient.data.name.casefold(), r.patient.data.record_number) for r in rows}
    if sort == "name":
        return sorted(rows, key=lambda r: tie[id(r)], reverse=descending)
    if sort == "record_number":
        return sorted(rows, key=lambda r: r.patient.data.record_number, reverse=descending)
    if sort == "age":
        return sorted(rows, key=lambda r: (r.age, tie[id(r)]), reverse=descending)
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]
    present.sort(key=lambda r: (getattr(r, sort), tie[id(r)]), reverse=descending)
    return present + sorted(missing, key=lambda r: tie[id(r)])
