"""The home page's day: the clinic's worklist within the window (due today, due this week,
overdue: each section's count and its first rows, read from the due items with indexed range
queries, bontrack.scheduling.actions), the stop-and-review flags still open, the injection
sessions dated today with their decision (blocks first for a physician, who decides them), and the
self-reports patients sent since yesterday. Reads are scoped by the actor's clinic and audited
like the worklist's."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CompoundSelect, Select, bindparam, func, select
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import PATIENT_LINK, list_scope
from bontrack.injections.models import InjectionSessionRow
from bontrack.instruments.definitions import load_definition
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads
from bontrack.scheduling.actions import Worked, listed_conditions, work_list
from bontrack.scheduling.due_query import (
    STATUSES,
    first_rows_of,
    first_rows_statement,
    in_scope,
    items_of,
    not_reviewed,
    review_rows,
    review_rows_of,
    review_statement,
    reviews_of,
    segment_rows,
)
from bontrack.scheduling.schemas import DueItem
from bontrack.scheduling.window import Window
from bontrack.storage.versioned import R, is_newest

DECISION_ORDER = {"block": 0, "warn": 1, "allow": 2}


@dataclass(frozen=True)
class TodaySession:
    patient_id: str
    name: str
    record_number: str
    session_id: str
    product: str
    decision: str
    overridden: bool


@dataclass(frozen=True)
class SelfReport:
    patient_id: str
    name: str
    record_number: str
    instrument: str
    date: dt.date
    received_at: dt.datetime


@dataclass
class Today:
    day: dt.date
    window: Window
    worked: Worked
    due_today: list[DueItem] = field(default_factory=list)
    this_week: list[DueItem] = field(default_factory=list)
    overdue: list[DueItem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # per section: all its items (rows: the first)
    sessions: list[TodaySession] = field(default_factory=list)
    self_reports: list[SelfReport] = field(default_factory=list)


@functools.cache
def _recent(row_cls: type[R], scoped: bool, by_link: bool) -> Select[R]:
    """The current versions (newest, not withdrawn) of a clinic's records (``scope``) recorded
    since a time (``since``), or those of them a patient sent through a link: built once (the
    day's few rows are read whole; the caller audits them)."""
    query = select(row_cls).where(
        row_cls.withdrawn.is_(False), is_newest(row_cls), row_cls.recorded_at >= bindparam("since")
    )
    if by_link:
        query = query.where(func.substr(row_cls.recorded_by, 1, len(PATIENT_LINK)) == PATIENT_LINK)
    return query.where(row_cls.clinic_id == bindparam("scope")) if scoped else query


@functools.lru_cache(maxsize=64)
def _statements(
    scope: str | None, today: dt.date, window: Window, rows: int
) -> tuple[CompoundSelect[Any], Select[Any]]:
    """The statements of a day's first ``rows`` of each section (``first_rows_statement``) and of the
    stop-and-review flags (``review_rows``) for a clinic (None: every clinic) and window, built
    once and kept: building them cost more than running them. They hold no record, only the
    conditions (the clinic's id, the window's dates), and each is made for exactly those."""
    dates, listed = listed_conditions(scope, today, window)
    sections = first_rows_statement(today, dates, *listed, limits=dict.fromkeys(STATUSES, rows))
    return sections, review_statement(*in_scope(scope), not_reviewed(today), limit=rows)


def today_of_clinic(
    *,
    db: Session,
    actor: str,
    today: dt.date,
    window: Window,
    clinic_id: str | None,
    role: str | None,
    rows: int | None = None,
) -> Today:
    """The day; each section of due items (and the stop-and-review flags) holds its first ``rows``
    (None: all) and ``counts`` how many there are."""
    scope = list_scope(actor, clinic_id)
    # the flags' rows are read here, so that their patients and the sections' are read at once
    worked = work_list(
        db=db, actor=actor, today=today, window=window, clinic_id=scope, limit=0, review_limit=0
    )
    day = Today(today, window, worked)
    if rows is None:
        dates, listed = listed_conditions(scope, today, window)
        part = {s: segment_rows(db, today, s, dates, *listed, limit=None) for s in STATUSES}
        flags = review_rows(db, *in_scope(scope), not_reviewed(today))
    else:  # one statement for the sections, one for the flags (both kept for the day)
        sections, flagged = _statements(scope, today, window, rows)
        part = first_rows_of(db, sections, dict.fromkeys(STATUSES, rows))
        flags = review_rows_of(db, flagged)
    by = worked.by_status
    due_now = part["due"]
    found = {
        "overdue": part["overdue"],
        "due_today": due_now + part["eligible"][: None if rows is None else max(0, rows - len(due_now))],
        "this_week": part["upcoming"],
    }
    day.counts = {
        "overdue": by["overdue"],
        "due_today": by["due"] + by["eligible"],
        "this_week": by["upcoming"],
    }
    # a session dated today was recorded at most a day before (the clinic's clock may run ahead of UTC)
    since = dt.datetime.combine(today - dt.timedelta(days=1), dt.time())
    asked = {"since": since, "scope": scope}
    recent = db.scalars(_recent(InjectionSessionRow, scope is not None, False), asked)
    sessions = [s for s in recent if s.data.get("date") == today.isoformat()]
    reports = list(db.scalars(_recent(OutcomeRow, scope is not None, True), asked))
    read = {"injection_session": len(sessions), "outcome": len(reports)}
    audit_reads(
        db, actor=actor, clinic_id=scope, purpose="home: today's sessions and self-reports", read=read
    )
    shown = [
        *(r.patient_id for rs in found.values() for r in rs),
        *(r.patient_id for r in flags),
        *(str(s.data["patient_id"]) for s in sessions),
        *(str(r.data["patient_id"]) for r in reports),
    ]
    patients = records.get_many(
        db, row_cls=PatientRow, record_ids=shown, actor=actor, purpose="home"
    )  # one read
    for name in found:
        getattr(day, name).extend(items_of(db, actor, found[name], today, "home", patients=patients))
    worked.reviews = reviews_of(db, actor, flags, "home", patients=patients)
    for session in sessions:
        pid, data = str(session.data["patient_id"]), session.data
        if pid in patients:
            p = patients[pid].data
            day.sessions.append(
                TodaySession(
                    pid,
                    p["name"],
                    p["record_number"],
                    session.id,
                    data["product"],
                    data["decision"]["decision"],
                    data.get("override") is not None,
                )
            )
    blocks_first = role == "physician"
    day.sessions.sort(key=lambda s: (DECISION_ORDER[s.decision] if blocks_first else 0, s.name))
    for report in reports:
        pid, data = str(report.data["patient_id"]), report.data
        if pid in patients:
            p = patients[pid].data
            name = load_definition(data["instrument"]).name
            day.self_reports.append(
                SelfReport(
                    pid,
                    p["name"],
                    p["record_number"],
                    name,
                    dt.date.fromisoformat(data["date"]),
                    report.recorded_at,
                )
            )
    day.self_reports.sort(key=lambda r: r.received_at, reverse=True)
    return day
