"""The due items kept as records are written: the ``due_items`` table (bontrack.scheduling.models).

Whenever a patient's record is written (patient, session, outcome, therapy plan or visit,
worklist action; created, corrected or withdrawn), the unit of work notes the patient
(bontrack.storage.derived) and, before it commits, this module derives that patient's items again
from their current records (bontrack.scheduling.derive: the same function the from-scratch
rebuild uses) and replaces their rows. A record never moves to another patient (a correction keeps
its patient: bontrack.corrections), so only the patients written need it. A bulk block (the demo
generator, an import) notes every patient it wrote; they are derived together at its commit, a
thousand patients a query.

The table is derived, not a clinical record: it is rewritten per patient, and ``rebuild`` (the
command ``bontrack due --rebuild``; migration 0011) derives it for whole clinics from scratch.
Nothing here is audited: no person reads it here (the pages that read it audit what they show).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, Table, delete, insert, inspect, select
from sqlalchemy.orm import Session

from bontrack.injections.models import InjectionSessionRow
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import OUTCOME_PATHS, current_frame, measurements_frame
from bontrack.records import VersionedRow
from bontrack.scheduling.derive import Facts, derive
from bontrack.scheduling.models import DueItemRow, WorklistActionRow
from bontrack.storage import derived
from bontrack.storage.unit import writer_of
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow

TABLE = cast(Table, DueItemRow.__table__)
PATIENTS_PER_QUERY = 1000  # patients derived together (ids bound in one IN list)


def _date(text: Any) -> dt.date:
    return dt.date.fromisoformat(str(text))


def load_facts(db: Session, clinic_id: str | None, patient_ids: Sequence[str] | None = None) -> Facts:
    """The current records the due items of a clinic (``patient_ids``: of those patients only)
    derive from: one query per record type, only the fields needed. Not audited."""

    def where(row_cls: type[VersionedRow]) -> tuple[ColumnElement[bool], ...]:
        if patient_ids is None:
            return ()
        column = row_cls.id if row_cls is PatientRow else cast(Any, row_cls).patient_id
        return (column.in_(list(patient_ids)),)

    def frame(row_cls: type[VersionedRow], *paths: str, **options: Any) -> Any:
        conditions = (*where(row_cls), *options.pop("also", ()))
        return current_frame(db, row_cls, clinic_id, paths, where=conditions, **options)

    patients = frame(PatientRow, "record_number", columns=("clinic_id",))
    facts = Facts(
        patients={
            pid: (clinic, str(number))
            for pid, number, clinic in zip(
                patients["id"], patients["record_number"], patients["clinic_id"], strict=True
            )
        }
    )
    sessions = frame(
        InjectionSessionRow, "patient_id", "date", "product", "injector_id", columns=("recorded_at",)
    )
    facts.sessions = [
        (sid, pid, _date(day), product, at, by)
        for sid, pid, day, product, by, at in zip(
            sessions["id"],
            sessions["patient_id"],
            sessions["date"],
            sessions["product"],
            sessions["injector_id"],
            sessions["recorded_at"],
            strict=True,
        )
    ]
    kb = load_knowledge()
    rule = kb.files.pathway.cycle_response
    score_path = f"scoring.scores.{rule.score}"
    outcomes = frame(OutcomeRow, *OUTCOME_PATHS, score_path)
    linked = outcomes[outcomes["session_id"].notna()]
    facts.follow_ups = set(zip(linked["session_id"], linked["weeks_after_session"], strict=True))
    facts.measurements = measurements_frame(outcomes[outcomes["instrument"] == rule.instrument], [rule.score])
    plans = frame(TherapyPlanRow, "patient_id", "start_date", "visits_per_week", "weeks", "therapist_id")
    facts.plans = [
        (plan_id, pid, _date(start), int(per_week), int(weeks), therapist)
        for plan_id, pid, start, per_week, weeks, therapist in zip(
            plans["id"],
            plans["patient_id"],
            plans["start_date"],
            plans["visits_per_week"],
            plans["weeks"],
            plans["therapist_id"],
            strict=True,
        )
    ]
    visits = frame(TherapyVisitRow, columns=("plan_id",))
    facts.visits = visits["plan_id"].value_counts().to_dict() if len(visits) else {}
    actions = frame(
        WorklistActionRow,
        "item_key",
        "action",
        "on",
        "snooze_until",
        "decision",
        "reason",
        columns=("recorded_at",),
    )
    facts.actions = list(
        zip(
            actions["item_key"],
            actions["action"],
            actions["on"],
            actions["snooze_until"],
            actions["decision"],
            actions["reason"],
            actions["recorded_at"],
            strict=True,
        )
    )
    return facts


def derive_clinic(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """Every due item of a clinic (None: of every clinic), derived from scratch."""
    return derive(load_facts(db, clinic_id), load_knowledge())


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), PATIENTS_PER_QUERY):
        yield ordered[start : start + PATIENTS_PER_QUERY]


def _has_table(db: Session) -> bool:
    """Whether the database has the table yet (a registry written at an older schema, in the
    migration tests, has not: nothing is kept until migration 0011 derives it all)."""
    connection = db.connection()
    if connection.engine in _engines_with_table:
        return True
    if inspect(connection).has_table(DueItemRow.__tablename__):
        _engines_with_table.add(connection.engine)
        return True
    return False


_engines_with_table: weakref.WeakSet[Engine] = weakref.WeakSet()


def refresh_patients(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the items of the patients touched (clinic id -> patient ids) and replace theirs."""
    if not _has_table(db):
        return
    kb = load_knowledge()
    for clinic_id, patient_ids in touched.items():
        for chunk in _chunks(patient_ids):
            rows = derive(load_facts(db, clinic_id, chunk), kb)
            table = TABLE
            db.execute(delete(table).where(table.c.clinic_id == clinic_id, table.c.patient_id.in_(chunk)))
            if rows:
                db.execute(insert(table), rows)


def rebuild(db: Session, clinic_id: str | None = None) -> int:
    """Derive the table again from scratch for a clinic (None: every clinic); returns the items."""
    table = TABLE
    derived.refresh(db)  # (what is pending is rewritten below anyway)
    db.execute(delete(table).where(table.c.clinic_id == clinic_id) if clinic_id else delete(table))
    query = select(PatientRow.clinic_id).distinct()
    clinics = [clinic_id] if clinic_id else list(db.scalars(query))
    written = 0
    kb = load_knowledge()
    for clinic in clinics:
        patients = db.scalars(select(PatientRow.id).where(PatientRow.clinic_id == clinic).distinct())
        for chunk in _chunks(patients):
            rows = derive(load_facts(db, clinic, chunk), kb)
            if rows:
                db.execute(insert(table), rows)
            written += len(rows)
    return written


def kept(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """The rows the table holds for a clinic (None: every clinic), after any pending refresh."""
    current(db)
    table = TABLE
    query = select(table)
    if clinic_id is not None:
        query = query.where(table.c.clinic_id == clinic_id)
    return [dict(r._mapping) for r in db.execute(query)]


def current(db: Session) -> None:
    """Bring the table up to date with what this unit of work wrote so far (before reading it)."""
    writer_of(db).flush(db)  # a bulk block's rows still held are written (and their patients noted)
    derived.refresh(db)
