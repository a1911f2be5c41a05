"""The home page's day: the clinic's worklist within the window (due today, due this week,
overdue: each section's count and its first rows, read from the due items with indexed range
queries, bontrack.scheduling.actions), the stop-and-review flags still open, the injection
sessions dated today with their decision (blocks first for a physician, who decides them), and the
self-reports patients sent since yesterday. Reads are scoped by the actor's clinic and audited
like the worklist's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import list_scope
from bontrack.injections.models import InjectionSessionRow
from bontrack.instruments.definitions import load_definition
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads, current_frame
from bontrack.scheduling.actions import Worked, window_conditions, work_list
from bontrack.scheduling.due_query import T, count, due_rows, items_of
from bontrack.scheduling.schemas import DueItem
from bontrack.scheduling.window import Window

DECISION_ORDER = {"block": 0, "warn": 1, "allow": 2}
PATIENT_LINK = "patient-link:"  # how a patient acting through a link is recorded


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
    worked = work_list(
        db=db, actor=actor, today=today, window=window, clinic_id=scope, limit=0, review_limit=rows
    )
    day = Today(today, window, worked)
    in_window, open_, _, _ = window_conditions(scope, today, window)
    listed = (*in_window, open_, T.due_date >= window.since(today))
    reinjection = T.kind == "reinjection"
    sections = {
        "overdue": and_(~reinjection, T.due_date < today),
        "due_today": or_(and_(~reinjection, T.due_date == today), and_(reinjection, T.due_date <= today)),
        "this_week": T.due_date > today,
    }
    found = {
        name: due_rows(db, today, *listed, condition, limit=rows) for name, condition in sections.items()
    }
    shown = [r.patient_id for rs in found.values() for r in rs]
    people = records.get_many(
        db, row_cls=PatientRow, record_ids=shown, actor=actor, purpose="home"
    )  # one read
    for name, condition in sections.items():
        getattr(day, name).extend(items_of(db, actor, found[name], today, "home", patients=people))
        day.counts[name] = len(found[name]) if rows is None else count(db, *listed, condition)
    read: dict[str, int] = {}
    # a session dated today was recorded at most a day before (the clinic's clock may run ahead of UTC)
    since = dt.datetime.combine(today - dt.timedelta(days=1), dt.time())
    sessions = current_frame(
        db,
        InjectionSessionRow,
        scope,
        ("patient_id", "date", "product", "decision.decision", "override"),
        where=(InjectionSessionRow.recorded_at >= since,),
    )
    sessions = sessions[sessions["date"] == today.isoformat()]
    read["injection_session"] = len(sessions)
    reports = current_frame(
        db,
        OutcomeRow,
        scope,
        ("patient_id", "instrument", "date"),
        columns=("recorded_at",),
        where=(OutcomeRow.recorded_at >= since, func.substr(OutcomeRow.recorded_by, 1, 13) == PATIENT_LINK),
    )
    read["outcome"] = len(reports)
    audit_reads(
        db, actor=actor, clinic_id=scope, purpose="home: today's sessions and self-reports", read=read
    )
    wanted = sorted(set(sessions["patient_id"]) | set(reports["patient_id"]))
    patients = records.get_many(db, row_cls=PatientRow, record_ids=wanted, actor=actor, purpose="home")
    for sid, pid, product, decision, override in zip(
        sessions["id"],
        sessions["patient_id"],
        sessions["product"],
        sessions["decision.decision"],
        sessions["override"],
        strict=True,
    ):
        if pid in patients:
            p = patients[pid].data
            day.sessions.append(
                TodaySession(pid, p["name"], p["record_number"], sid, product, decision, override is not None)
            )
    blocks_first = role == "physician"
    day.sessions.sort(key=lambda s: (DECISION_ORDER[s.decision] if blocks_first else 0, s.name))
    for pid, instrument, date, received in zip(
        reports["patient_id"], reports["instrument"], reports["date"], reports["recorded_at"], strict=True
    ):
        if pid in patients:
            p = patients[pid].data
            name = load_definition(instrument).name
            day.self_reports.append(
                SelfReport(pid, p["name"], p["record_number"], name, dt.date.fromisoformat(date), received)
            )
    day.self_reports.sort(key=lambda r: r.received_at, reverse=True)
    return day
