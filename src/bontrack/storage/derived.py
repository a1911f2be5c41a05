"""Derived tables kept up to date as records are written, in the same transaction.

A derived table (the scheduling domain's due items) is recomputed for the patients whose records
changed. Storage only notes which patients were touched: every record version written (the
buffered writer's ``append``, every batched ``insert_many`` of the bulk writer and the import)
passes through ``note``, which keeps, per table and clinic, the ids of the patients of the
watched tables. Before the transaction commits (bontrack.storage.unit, after the unit's writer
wrote out what it held) and whenever a reader of a derived table asks (``refresh``), each
registered refresher recomputes what it derives for the patients touched in the tables it
watches (an outcome written does not derive the session fields again). One that has nothing to
derive still takes its locks for the patients touched (``one_writer``), in the order of
registration as the others: every transaction locks a patient's derived tables in one order.

A domain registers its refresher with ``register`` (the tables it watches, and which column of
each names the patient; the table it derives); storage imports nothing of it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, inspect, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import Text

KEY = "bontrack.touched_patients"
Touched = dict[str, set[str]]  # clinic id -> patient ids
Refresher = Callable[[Session, Touched], None]


@dataclass(frozen=True)
class _Registered:
    watched: dict[str, str]  # table name -> the column naming the patient
    refresh: Refresher
    table: str  # the table it derives (its locks' name)


_registered: list[_Registered] = []
_watched: dict[str, str] = {}


def register(watched: dict[str, str], refresh: Refresher, *, table: str) -> None:
    """Recompute with ``refresh`` what derives from the tables in ``watched`` (table name -> the
    column that names the patient) into ``table``, for the patients touched, before each commit."""
    if any(r.refresh is refresh for r in _registered):
        return
    _registered.append(_Registered(dict(watched), refresh, table))
    _watched.update(watched)


def note(db: Session, table: str, rows: Iterable[dict[str, Any]]) -> None:
    """Remember the patients of rows written to ``table`` (nothing if no refresher watches it)."""
    column = _watched.get(table)
    if column is None:
        return
    by_table: dict[str, Touched] = db.info.setdefault(KEY, {})
    touched = by_table.setdefault(table, {})
    for values in rows:
        patient = values.get(column)
        if patient is not None:
            touched.setdefault(values["clinic_id"], set()).add(patient)


def pending(db: Session) -> bool:
    return any(db.info.get(KEY, {}).values())


def _merged(parts: Iterable[Touched]) -> Touched:
    merged: Touched = {}
    for part in parts:
        for clinic_id, patients in part.items():
            merged.setdefault(clinic_id, set()).update(patients)
    return merged


def refresh(db: Session) -> None:
    """Recompute the derived tables for the patients touched since the last refresh: each from
    the patients of the tables it watches; one with none of them locks the patients touched."""
    by_table: dict[str, Touched] | None = db.info.pop(KEY, None)
    if not by_table or not any(by_table.values()):
        return
    every: Touched | None = None
    for registered in _registered:
        own = _merged(by_table[t] for t in registered.watched if t in by_table)
        if any(own.values()):
            registered.refresh(db, own)
        elif db.get_bind().dialect.name == "postgresql":
            every = _merged(by_table.values()) if every is None else every
            for clinic_id, patients in every.items():
                one_writer(db, registered.table, clinic_id, patients)


def taken(db: Session) -> Touched:
    """The patients touched since the last refresh (clinic id -> patient ids), no longer pending:
    a writer of millions of records keeps them elsewhere and refreshes them in parts with
    ``refresh_for`` (every refresher) before it commits (the import: bontrack.exchange.importing)."""
    return _merged((db.info.pop(KEY, None) or {}).values())


def refresh_for(db: Session, touched: dict[str, set[str]]) -> None:
    """Recompute the derived tables for these patients (clinic id -> patient ids)."""
    for registered in _registered:
        registered.refresh(db, touched)


def forget(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended (committed or rolled back) leaves nothing to refresh."""
    if transaction.parent is None:
        session.info.pop(KEY, None)
        session.info.pop(_LOCKED, None)  # (its locks ended with it)


def in_parts(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    """The patient ids in order, ``size`` at a time (bound in one IN list each)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


# On PostgreSQL, a transaction's locks for refreshing a table's patients (one_writer): the
# table's lock of the clinic shared, then each patient's, in the keys' order (Append runs its
# parts in order; unnest yields the array's order); or the clinic's whole, alone
_PATIENTS = text(
    "select pg_advisory_xact_lock_shared(hashtextextended(:whole, 0)) union all "
    "select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(:keys) as k"
).bindparams(bindparam("keys", type_=ARRAY(Text())))
_WHOLE = text("select pg_advisory_xact_lock(hashtextextended(:whole, 0))")
# patients' locks a transaction takes on one table of one clinic before it locks the clinic's
# whole table instead (PostgreSQL's lock table holds max_locks_per_transaction x connections:
# an import of thousands of patients in one transaction must not take a lock for each)
PATIENT_LOCKS = 256
_LOCKED = "bontrack_derived_locked"


def one_writer(db: Session, table: str, clinic_id: str, patient_ids: Iterable[str]) -> None:
    """Before a refresh reads the records of these patients to derive their rows of ``table``
    again: on PostgreSQL, locks held to the commit, so one transaction at a time refreshes a
    patient's rows. Two writers of one patient (READ COMMITTED) would otherwise each read the
    records without the other's, and the second's insert meet the first's rows (a duplicate
    key), or the kept rows miss a record. A lock for each patient (sorted, after the clinic's
    table's lock shared: two writers never wait for each other in a circle within one refresh);
    a transaction past ``PATIENT_LOCKS`` patients (an import) locks the clinic's whole table
    instead, and the writers of that clinic wait for its commit. A hash shared by two keys only
    makes one wait. SQLite commits one writer at a time already."""
    if db.get_bind().dialect.name != "postgresql":
        return
    whole = f"{table}/{clinic_id}"
    ids = sorted(set(patient_ids))
    locked: dict[str, int] = db.info.setdefault(_LOCKED, {})
    taken = locked.get(whole, 0)
    if taken < 0 or taken + len(ids) > PATIENT_LOCKS:  # (taken again: a savepoint's rollback frees it)
        db.execute(_WHOLE, {"whole": whole})
        locked[whole] = -1
        return
    db.execute(_PATIENTS, {"whole": whole, "keys": [f"{whole}/{p}" for p in ids]})
    locked[whole] = taken + len(ids)


def has_table(db: Session, name: str, column: str | None = None) -> bool:
    """Whether the database has the derived table ``name`` yet (with ``column``: and that column
    of it, one a later migration added): a registry written at an older schema has not, and
    nothing is kept in it until its migration derives it all. Asked of the database once per
    engine and table."""
    connection = db.connection()
    seen = _tables_seen.setdefault(connection.engine, set())
    key = name if column is None else f"{name}.{column}"
    if key in seen:
        return True
    inspector = inspect(connection)
    found = inspector.has_table(name)
    if found and column is not None:
        found = any(c["name"] == column for c in inspector.get_columns(name))
    if found:
        seen.add(key)
    return found


_tables_seen: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
