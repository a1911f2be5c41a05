"""The patient list with what a clinic sorts it by: age, last visit, next due.

Every current patient of the clinic (matching the search) is read, as a frame of the few fields
sorted by, because a list sorted by last visit or next due cannot be paged by the database: the
dates are derived. Only the page shown is then read as records. The last visit is the
latest session, therapy visit or outcome form; the next due date is the earliest item of the
scheduling rules (``scheduling.service.worklist``: overdue ones count, as their date). The reads
are audited like the worklist's: one entry per record type read clinic-wide, and the patients
shown one by one (the worklist's rules audit the patients they find due, as on the worklist).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate, PatientRead
from bontrack.queries import audit_reads, current_frame
from bontrack.records import get_many, to_read
from bontrack.therapy.models import TherapyVisitRow

SortKey = Literal["name", "record_number", "age", "last_visit", "next_due"]
SORT_KEYS: tuple[SortKey, ...] = ("name", "record_number", "age", "last_visit", "next_due")
# how far ahead the next due item is looked for (a year covers every rule's interval)
NEXT_DUE_HORIZON_DAYS = 366


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
    limit: int,
    offset: int = 0,
) -> tuple[int, list[ListedPatient]]:
    """One page of the current patients (of a clinic, or of every clinic) matching ``search``
    (name or record number containing the text, any case), sorted, and their number. A patient
    without a last visit or next due date comes last whichever the direction. The clinic is read
    as a frame (one audit entry per record type); the patients shown are read as records."""
    from bontrack.scheduling.service import next_due

    read: dict[str, int] = {}
    frame = current_frame(db, PatientRow, clinic_id, ("name", "record_number", "birth_date"))
    read[PatientRow.record_type] = len(frame)
    needle = (search or "").strip().casefold()
    people = [
        _Person(pid, str(name), str(record), age_on(dt.date.fromisoformat(str(born)), today))
        for pid, name, record, born in zip(
            frame["id"], frame["name"], frame["record_number"], frame["birth_date"], strict=True
        )
        if not needle or needle in str(name).casefold() or needle in str(record).casefold()
    ]
    last: dict[str, dt.date] = {}
    for row_cls in (InjectionSessionRow, TherapyVisitRow, OutcomeRow):
        dates = current_frame(db, row_cls, clinic_id, ("patient_id", "date"))
        read[row_cls.record_type] = len(dates)
        for patient_id, day in zip(dates["patient_id"], dates["date"], strict=True):
            date = dt.date.fromisoformat(str(day))
            if date <= today and (patient_id not in last or date > last[patient_id]):
                last[patient_id] = date
    purpose = f"patient list, search {search.strip()!r}" if needle and search else "patient list"
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read=read)
    due = next_due(db=db, actor=actor, today=today, horizon_days=NEXT_DUE_HORIZON_DAYS, clinic_id=clinic_id)
    for person in people:
        person.last_visit = last.get(person.id)
        if person.id in due:
            person.next_due, person.next_due_what = due[person.id]
    chosen = _sorted(people, sort, descending)[offset : offset + limit]
    records_of = get_many(
        db, row_cls=PatientRow, record_ids=[p.id for p in chosen], actor=actor, purpose="patient list"
    )
    rows = [
        ListedPatient(
            patient=to_read(records_of[p.id], PatientCreate),
            age=p.age,
            last_visit=p.last_visit,
            next_due=p.next_due,
            next_due_what=p.next_due_what,
        )
        for p in chosen
        if p.id in records_of
    ]
    return len(people), rows


@dataclass
class _Person:
    id: str
    name: str
    record_number: str
    age: int
    last_visit: dt.date | None = None
    next_due: dt.date | None = None
    next_due_what: str | None = None


def _sorted(rows: list[_Person], sort: SortKey, descending: bool) -> list[_Person]:
    def tie(r: _Person) -> tuple[str, str]:
        return (r.name.casefold(), r.record_number)

    if sort == "name":
        return sorted(rows, key=tie, reverse=descending)
    if sort == "record_number":
        return sorted(rows, key=lambda r: r.record_number, reverse=descending)
    if sort == "age":
        return sorted(rows, key=lambda r: (r.age, tie(r)), reverse=descending)
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]
    present.sort(key=lambda r: (getattr(r, sort), tie(r)), reverse=descending)
    return present + sorted(missing, key=tie)
