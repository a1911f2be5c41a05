"""Derived tables kept up to date as records are written, in the same transaction.

A derived table (the scheduling domain's due items) is recomputed for the patients whose records
changed. Storage only notes which patients were touched: every record version written (the
buffered writer's ``append``, every batched ``insert_many`` of the bulk writer and the import)
passes through ``note``, which keeps, per clinic, the ids of the patients of the watched tables.
Before the transaction commits (bontrack.storage.unit, after the unit's writer wrote out what it
held) and whenever a reader of a derived table asks (``refresh``), each registered refresher
recomputes what it derives for those patients.

A domain registers its refresher with ``register`` (the tables it watches, and which column of
each names the patient); storage imports nothing of it.
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
Refresher = Callable[[Session, dict[str, set[str]]], None]  # (session, clinic id -> patient ids)


@dataclass(frozen=True)
class _Registered:
    watched: dict[str, str]  # table name -> the column naming the patient
    refresh: Refresher


_registered: list[_Registered] = []
_watched: dict[str, str] = {}


def register(watched: dict[str, str], refresh: Refresher) -> None:
    """Recompute with ``refresh`` what derives from the tables in ``watched`` (table name -> the
    column that names the patient), for the patients touched, before each commit."""
    if any(r.refresh is refresh for r in _registered):
        return
    _registered.append(_Registered(dict(watched), refresh))
    _watched.update(watched)


def note(db: Session, table: str, rows: Iterable[dict[str, Any]]) -> None:
    """Remember the patients of rows written to ``table`` (nothing if no refresher watches it)."""
    column = _watched.get(table)
    if column is None:
        return
    touched: dict[str, set[str]] = db.info.setdefault(KEY, {})
    for values in rows:
        patient = values.get(column)
        if patient is not None:
            touched.setdefault(values["clinic_id"], set()).add(patient)


def pending(db: Session) -> bool:
    return bool(db.info.get(KEY))


def refresh(db: Session) -> None:
    """Recompute the derived tables for the patients touched since the last refresh."""
    touched: dict[str, set[str]] | None = db.info.pop(KEY, None)
    if not touched:
        return
    for registered in _registered:
        registered.refresh(db, touched)


def taken(db: Session) -> dict[str, set[str]]:
    """The patients touched since the last refresh (clinic id -> patient ids), no longer pending:
    a writer of millions of records keeps them elsewhere and refreshes them in parts with
    ``refresh_for`` before it commits (the import: bontrack.exchange.importing)."""
    touched: dict[str, set[str]] = db.info.pop(KEY, None) or {}
    return touched


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


def has_table(db: Session, name: str) -> bool:
    """Whether the database has the derived table ``name`` yet: a registry written at an older
    schema has not, and nothing is kept in it until its migration derives it all. Asked of the
    database once per engine and table."""
    connection = db.connection()
    seen = _tables_seen.setdefault(connection.engine, set())
    if name in seen:
        return True
    if inspect(connection).has_table(name):
        seen.add(name)
        return True
    return False


_tables_seen: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
