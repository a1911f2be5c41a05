"""The due items table's reads shared by the worklist, the worked worklist and the home page: rows
in the order the worklist shows them (in SQL, for the page asked), made DueItems and ReviewItems
with their patients (read and audited). Callers scope and audit (bontrack.scheduling.service,
.actions, .today)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Row,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.patients.models import PatientRow
from bontrack.scheduling.models import DueItemRow
from bontrack.scheduling.schemas import STATUS_ORDER, DueItem, ReviewItem, Status

T = DueItemRow.__table__.c  # the due_items table's columns
REVIEW = "stop_review"
EVENT = "adverse_event"  # listed whatever its due date, while open (actions.listed_conditions)


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


Dates = tuple[dt.date | None, dt.date | None]  # the first and last due date (None: no bound)
DAY = dt.timedelta(days=1)
LAST_DAY = dt.date(9999, 12, 31)
STATUSES: tuple[Status, ...] = ("overdue", "due", "eligible", "upcoming")  # the worklist's order
ORDER = (T.due_date, T.record_number, T.kind, T.patient_id, T.item_key)  # within a status


def is_event() -> ColumnElement[bool]:
    """An adverse event's follow-up, as the partial index of those items has it (written in the
    query: PostgreSQL's generic plans do not look into a bound value)."""
    return T.kind == literal(EVENT, literal_execute=True)


def within(dates: Dates) -> list[ColumnElement[bool]]:
    """The due dates as one range of the index (one lower and one upper bound at most: SQLite
    bounds its index range by one of each, and would scan from the looser one)."""
    first, last = dates
    bounds = [] if first is None else [T.due_date >= first]
    return bounds if last is None else [*bounds, T.due_date <= last]


def meet(a: Dates, b: Dates) -> Dates:
    """The due dates in both ranges."""
    firsts = [d for d in (a[0], b[0]) if d is not None]
    lasts = [d for d in (a[1], b[1]) if d is not None]
    return (max(firsts) if firsts else None, min(lasts) if lasts else None)


def segments(today: dt.date) -> dict[Status, tuple[tuple[ColumnElement[bool], ...], Dates]]:
    """The worklist's order in parts (a kind condition and a range of due dates each): within each a
    row's status is the same, so each part is ordered by due date, record number and kind alone
    (the order of the due items' index)."""
    reinjection = T.kind == "reinjection"
    return {
        "overdue": ((T.kind != "reinjection",), (None, today - DAY)),
        "due": ((T.kind != "reinjection",), (today, today)),
        "eligible": ((reinjection,), (None, today)),
        "upcoming": ((), (today + DAY, None)),
    }


Part = tuple[Status, tuple[ColumnElement[bool], ...], Dates]


def early(dates: Dates) -> Dates | None:
    """The due dates of the open adverse events listed before a range (None: the range has no
    first date); an adverse event's follow-up is listed whatever its due date."""
    return None if dates[0] is None else (None, min(dates[0] - DAY, dates[1] or LAST_DAY))


def parts(today: dt.date, dates: Dates) -> list[Part]:
    """The list of the due dates ``dates`` in parts, in its order: ``segments`` each met with
    ``dates``, and first the adverse events due before them (``early``; overdue, and earlier
    than the rest): one range of an index each, theirs of their own partial index (0024)."""
    out: list[Part] = []
    before = early(dates)
    for status, (kinds, span) in segments(today).items():
        if status == "overdue" and before is not None:
            out.append((status, (is_event(),), meet(before, span)))
        out.append((status, kinds, meet(dates, span)))
    return out


def listed_rows(
    db: Session, today: dt.date, dates: Dates, *where: ColumnElement[bool], offset: int = 0
) -> list[Row[Any]]:
    """Every row ``due_rows`` would give for ``where`` and ``dates``, and the adverse events
    before them (``parts``), in the worklist's order, from ``offset``."""
    before = early(dates)
    rows = due_rows(db, today, *where, *within(dates))
    if before is not None:
        rows = due_rows(db, today, *where, is_event(), *within(before)) + rows  # (overdue, earlier)
    return rows[offset:]


def ordered_rows(
    db: Session, dates: Dates, *where: ColumnElement[bool], limit: int, offset: int = 0
) -> list[Row[Any]]:
    """Rows with due dates in ``dates`` meeting ``where`` (within one segment: one status),
    ``limit`` from ``offset`` in the order by due date, record number and kind. The due dates the
    page spans are found on the index (clinic, due date, kind, last action, snoozed to; no row
    read), then only the rows of those dates are read and sorted, not every row of the window."""
    if limit <= 0:
        return []
    days = select(T.due_date).where(*where, *within(dates)).order_by(T.due_date)
    if not offset:  # one statement: the last date of the page found in a subquery
        cut = func.coalesce(days.offset(limit - 1).limit(1).scalar_subquery(), dates[1] or LAST_DAY)
        # the window's last date is left out: the one upper bound (the cut) bounds the index range
        query = select(DueItemRow.__table__).where(*where, *within((dates[0], None)), T.due_date <= cut)
        return list(db.execute(query.order_by(*ORDER).limit(limit)))
    last = db.scalar(days.offset(offset + limit - 1).limit(1))  # None: the rows end within the page
    first, skip = None, 0
    if offset:
        first = db.scalar(days.offset(offset).limit(1))
        if first is None:
            return []
        skip = count(db, *where, *within(meet(dates, (None, first - DAY))))
    query = (
        select(DueItemRow.__table__)
        .where(*where, *within(meet(dates, (first, last))))
        .order_by(*ORDER)
        .offset(offset - skip)
        .limit(limit)
    )
    return list(db.execute(query))


def segment_rows(
    db: Session, today: dt.date, status: Status, dates: Dates, *where: ColumnElement[bool], limit: int | None
) -> list[Row[Any]]:
    """The first ``limit`` rows (None: all) of one status, with due dates in ``dates`` (and the
    adverse events before them: ``parts``), meeting ``where``."""
    out: list[Row[Any]] = []
    for _, kinds, both in (p for p in parts(today, dates) if p[0] == status):
        if limit is None:
            out += due_rows(db, today, T.kind != REVIEW, *where, *kinds, *within(both))
        else:
            out += ordered_rows(db, both, T.kind != REVIEW, *where, *kinds, limit=limit - len(out))
    return out


def first_rows_statement(
    today: dt.date, dates: Dates, *where: ColumnElement[bool], limits: dict[Status, int]
) -> CompoundSelect[Any]:
    """The first rows of several statuses at once (``limits``: how many of each), with due dates in
    ``dates``, meeting ``where``: one statement, a part per status as in ``ordered_rows``, run by
    ``first_rows_of`` (a caller that runs it again keeps it: building it costs more than running it)."""
    statements = []
    for status, kinds, (first, last) in parts(today, dates):
        if status not in limits:
            continue
        n = limits[status]
        conditions = (T.kind != REVIEW, *where, *kinds)
        days = select(T.due_date).where(*conditions, *within((first, last))).order_by(T.due_date)
        cut = func.coalesce(days.offset(max(n, 1) - 1).limit(1).scalar_subquery(), last or LAST_DAY)
        part = (
            select(DueItemRow.__table__, literal(status).label("segment"))
            .where(*conditions, *within((first, None)), T.due_date <= cut)
            .order_by(*ORDER)
            .limit(n)
        )
        statements.append(select(part.subquery()))
    return union_all(*statements)


def first_rows_of(
    db: Session, statement: CompoundSelect[Any], limits: dict[Status, int]
) -> dict[Status, list[Row[Any]]]:
    """Each status's rows from a ``first_rows_statement``, in the worklist's order."""
    out: dict[Status, list[Row[Any]]] = {status: [] for status in limits}
    for row in db.execute(statement):
        out[row.segment].append(row)
    key = attrgetter("due_date", "record_number", "kind", "patient_id", "item_key")
    # (a status of two parts: the first ``limits`` of both, in order)
    return {status: sorted(rows, key=key)[: limits[status]] for status, rows in out.items()}


def page_rows(
    db: Session,
    today: dt.date,
    counts: dict[Status, int],
    dates: Dates,
    *where: ColumnElement[bool],
    limit: int,
    offset: int = 0,
) -> list[Row[Any]]:
    """The rows ``due_rows`` would give for ``limit`` from ``offset``, read segment by segment
    (``counts``: how many each status has with the same ``dates`` and ``where``), each with
    ``ordered_rows``; a status of two parts (``parts``) counts its first part here."""
    out: list[Row[Any]] = []
    listed = parts(today, dates)
    for i, (status, kinds, both) in enumerate(listed):
        n = counts[status]
        if i + 1 < len(listed) and listed[i + 1][0] == status:  # the adverse events before the rest
            if offset >= n:
                continue
            n = count(db, T.kind != REVIEW, *where, *kinds, *within(both))
            counts = counts | {status: counts[status] - n}
        if offset >= n:
            offset -= n
            continue
        out += ordered_rows(db, both, T.kind != REVIEW, *where, *kinds, limit=limit - len(out), offset=offset)
        offset = 0
        if len(out) >= limit:
            break
    return out


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
        .order_by(status_rank(today), T.due_date, T.record_number, T.kind, T.patient_id, T.item_key)
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


def event_of(kind: str, key: str) -> str | None:
    """An adverse event's follow-up: the event's id, from its item's key ("adverse_event:<id>")."""
    return key.partition(":")[2] or None if kind == "adverse_event" else None


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
            event_id=event_of(r.kind, r.item_key),
            clinician_id=r.clinician_id,
            last_action=r.last_action,
            last_action_on=r.last_action_on,
            last_action_note=r.last_action_note if r.last_action else "",
            **person(patients[r.patient_id].data),
        )
        for r in rows
        if r.patient_id in patients
    ]


def reviews_of(
    db: Session,
    actor: str,
    rows: Sequence[Row[Any]],
    purpose: str,
    patients: dict[str, PatientRow] | None = None,
) -> list[ReviewItem]:
    """The stop-and-review rows as ReviewItems (their patients read and audited, unless the caller
    read them: ``patients``)."""
    if patients is None:
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


def flag_on(today: dt.date) -> ColumnElement[bool]:
    """A stop-and-review flag shown on ``today``: one that a cycle's missed visits turn on from
    the day they lapse (its ``shown_from``, scheduling.derive), the others (no such day) at once."""
    return or_(T.shown_from.is_(None), T.shown_from <= today)


def not_reviewed(today: dt.date) -> ColumnElement[bool]:
    """A stop-and-review flag shown on ``today`` (``flag_on``) and not marked "review done"
    (since its last session was judged)."""
    return and_(flag_on(today), or_(T.last_action.is_(None), T.last_action != "reviewed"))


def review_rows(db: Session, *where: ColumnElement[bool], limit: int | None = None) -> list[Row[Any]]:
    """Stop-and-review rows meeting ``where``, the oldest last session first."""
    return review_rows_of(db, review_statement(*where, limit=limit))


def review_statement(*where: ColumnElement[bool], limit: int | None = None) -> Select[Any]:
    """``review_rows``'s statement (a caller that runs it again may keep it)."""
    query = select(DueItemRow.__table__).where(T.kind == REVIEW, *where).order_by(T.due_date, T.record_number)
    return query if limit is None else query.limit(limit)


def review_rows_of(db: Session, statement: Select[Any]) -> list[Row[Any]]:
    """``review_rows`` from its statement (``review_statement``)."""
    return sorted(db.execute(statement), key=lambda r: (r.due_date, r.record_number))


def count(db: Session, *where: ColumnElement[bool]) -> int:
    return int(db.scalar(select(func.count()).select_from(DueItemRow.__table__).where(*where)) or 0)
