"""The due items kept as records are written: the ``due_items`` table (bontrack.scheduling.models).

Whenever a patient's record is written (patient, session, adverse event, outcome, therapy plan or
visit, worklist action; created, corrected or withdrawn), the unit of work notes the patient
(bontrack.storage.derived) and, before it commits, this module derives that patient's items again
from their current records (bontrack.scheduling.derive: the same function the from-scratch
rebuild uses) and replaces their rows. A record never moves to another patient (a correction keeps
its patient: bontrack.corrections), so only the patients written need it. A bulk block (the demo
generator, an import) notes every patient it wrote; they are derived together at its commit, a
thousand patients a query.

The table is derived, not a clinical record: it is rewritten per patient, and ``rebuild`` (the
command ``bontrack due --rebuild``; migration 0021) derives it for whole clinics from scratch.
Nothing here is audited: no person reads it here (the pages that read it audit what they show).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, bindparam, delete, func, insert, select
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OUTCOME_PATHS, OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.records import VersionedRow
from bontrack.scheduling.derive import Event, Facts, derive
from bontrack.scheduling.models import DueItemRow, WorklistActionRow
from bontrack.storage import derived, record_json
from bontrack.storage.record_ids import no_index
from bontrack.storage.unit import derived_rows, derived_up_to_date
from bontrack.storage.versioned import is_newest
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow

TABLE = cast(Table, DueItemRow.__table__)
PATIENTS_PER_QUERY = 1000  # patients derived together (ids bound in one IN list)


def _date(text: Any) -> dt.date:
    return dt.date.fromisoformat(str(text))


def _current(
    db: Session,
    row_cls: type[VersionedRow],
    clinic_id: str | None,
    patient_ids: Sequence[str] | None,
    paths: Sequence[str],
    columns: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """The current, non-withdrawn version of each record (of ``patient_ids`` only, when given), in
    the order of their ids: (id, the fields at ``paths``, the row ``columns``), as plain tuples.
    The same records as bontrack.queries.current_frame reads (``is_newest``), without a frame:
    for one patient's few rows building frames cost more than the query. Not audited."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    key = (row_cls, tuple(paths), tuple(columns), sqlite, clinic_id is not None, patient_ids is not None)
    query = _statements.get(key)
    if query is None:
        query = _statements[key] = _statement(row_cls, paths, columns, sqlite, *key[4:])
    params: dict[str, Any] = {}
    if clinic_id is not None:
        params["clinic_id"] = clinic_id
    if patient_ids is not None:
        params["patient_ids"] = list(patient_ids)
    rows: Any = db.connection().execute(query, params)
    if patient_ids is not None:  # (in the order of their ids: sorted here, see _statement)
        rows = sorted(rows, key=_first)
    if not paths:
        return [(rid, *more) for rid, _, *more in rows]
    if sqlite and len(paths) >= 2:  # one small JSON array of the fields (json_extract, in C)
        loads = orjson.loads
        return [(rid, *loads(text), *more) for rid, text, *more in rows]
    getters = [_getter(p) for p in paths]
    out = []
    for rid, text, *more in rows:
        data = record_json.loads(text)  # (SQLite: packed, storage.record_json)
        out.append((rid, *(get(data) for get in getters), *more))
    return out


def _statement(
    row_cls: type[VersionedRow],
    paths: Sequence[str],
    columns: Sequence[str],
    sqlite: bool,
    by_clinic: bool,
    by_patients: bool,
) -> Any:
    if not paths:  # row columns only: the JSON is not read at all
        query = select(row_cls.id, sa_cast(None, Text))
    elif sqlite and len(paths) >= 2:
        picked = func.json_extract(record_json.json_of(row_cls.data), *(f"$.{p}" for p in paths))
        query = select(row_cls.id, sa_cast(picked, Text))
    else:
        query = select(
            row_cls.id, record_json.raw_of(row_cls.data) if sqlite else sa_cast(row_cls.data, Text)
        )
    query = query.add_columns(*(getattr(row_cls, c) for c in columns)).where(
        row_cls.withdrawn.is_(False), is_newest(row_cls)
    )
    if by_patients:
        column = row_cls.id if row_cls is PatientRow else cast(Any, row_cls).patient_id
        query = query.where(column.in_(bindparam("patient_ids", expanding=True)))
    if by_clinic:
        clinic: Any = row_cls.clinic_id
        if by_patients and sqlite:
            # SQLite plans "clinic = ? AND patient IN (a thousand ids)" by the clinic's index
            # (every row of a clinic; without statistics) or, ordered by id, by scanning the whole
            # table in key order (with them, one clinic): at a million patients each thousand read
            # every row. ``+clinic_id`` is the same value but no index's column, so the
            # patients' index is the one left; the rows are sorted here, not by an index.
            clinic = no_index(row_cls.clinic_id)
        query = query.where(clinic == bindparam("clinic_id"))
    return query if by_patients else query.order_by(row_cls.id)


current_fields = _current  # (the same read for the other tables derived from records: outcome_scores)
_statements: dict[tuple[Any, ...], Any] = {}  # (the statements of ``_current``, built once)
_first = itemgetter(0)


def _getter(path: str) -> Any:
    keys = path.split(".")

    def get(data: Any) -> Any:
        for key in keys:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data

    return get


def load_facts(db: Session, clinic_id: str | None, patient_ids: Sequence[str] | None = None) -> Facts:
    """The current records the due items of a clinic (``patient_ids``: of those patients only)
    derive from: one query per record type, only the fields needed, as plain lists. Not audited."""

    def read(row_cls: type[VersionedRow], *paths: str, columns: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        return _current(db, row_cls, clinic_id, patient_ids, paths, columns)

    facts = Facts(
        patients={
            pid: (clinic, str(number))
            for pid, number, clinic in read(PatientRow, "record_number", columns=("clinic_id",))
        }
    )
    sessions = read(
        InjectionSessionRow, "patient_id", "date", "product", "injector_id", columns=("recorded_at",)
    )
    facts.sessions = [(sid, pid, _date(day), product, at, by) for sid, pid, day, product, by, at in sessions]
    rule = load_knowledge().files.pathway.cycle_response
    outcomes = read(OutcomeRow, *OUTCOME_PATHS, f"scoring.scores.{rule.score}")
    facts.follow_ups = {(sid, weeks) for _, _, sid, weeks, _, _, _ in outcomes if sid is not None}
    facts.scores = [
        (pid, sid, weeks, day, value)
        for _, pid, sid, weeks, day, instrument, value in outcomes
        if instrument == rule.instrument
    ]
    plans = read(
        TherapyPlanRow,
        "patient_id",
        "start_date",
        "visits_per_week",
        "weeks",
        "therapist_id",
        columns=("recorded_at",),
    )
    facts.plans = [
        (plan_id, pid, _date(start), int(per_week), int(weeks), therapist, at)
        for plan_id, pid, start, per_week, weeks, therapist, at in plans
    ]
    facts.visits = dict(Counter(plan_id for _, plan_id in read(TherapyVisitRow, columns=("plan_id",))))
    events = read(
        AdverseEventRow,
        "patient_id",
        "session_id",
        "onset_date",
        "reported_date",
        "event",
        "serious",
        "status",
        "outcome",
    )
    facts.events = [
        Event(
            eid,
            pid,
            sid,
            _date(onset),
            _date(reported),
            str(what or ""),
            bool(serious),
            status,
            str(note or ""),
        )
        for eid, pid, sid, onset, reported, what, serious, status, note in events
    ]
    actions = read(
        WorklistActionRow,
        "item_key",
        "action",
        "on",
        "snooze_until",
        "decision",
        "reason",
        columns=("recorded_at",),
    )
    facts.actions = [tuple(row[1:]) for row in actions]
    return facts


def derive_clinic(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """Every due item of a clinic (None: of every clinic), derived from scratch (over frames)."""
    return derive(load_facts(db, clinic_id), load_knowledge(), frames=True)


def _has_table(db: Session) -> bool:
    """Whether the database has the table as this code writes it yet (a registry written at an
    older schema, in the migration tests, has not: nothing is kept until migration 0021 adds its
    last column, ``shown_from``, and derives it all)."""
    return derived.has_table(db, DueItemRow.__tablename__, "shown_from")


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    return derived.in_parts(ids, PATIENTS_PER_QUERY)


def refresh_patients(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the items of the patients touched (clinic id -> patient ids) and replace theirs."""
    if not _has_table(db):
        return
    kb = load_knowledge()
    for clinic_id, patient_ids in touched.items():
        for chunk in _chunks(patient_ids):
            derived.one_writer(db, TABLE.name, clinic_id, chunk)
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
            rows = derive(load_facts(db, clinic, chunk), kb, frames=True)
            if rows:
                db.execute(insert(table), rows)
            written += len(rows)
    return written


def kept(db: Session, clinic_id: str | None) -> list[dict[str, Any]]:
    """The rows the table holds for a clinic (None: every clinic), after any pending refresh."""
    return derived_rows(db, TABLE, clinic_id)


current = derived_up_to_date  # brings the table up to date before it is read
