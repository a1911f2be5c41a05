"""Bulk writing: many service calls in one transaction without a database round trip per row.

Inside ``records.bulk(db)`` the services run unchanged (validation, decision engine, audit), but:

* new record versions are kept in memory and inserted together when the block ends (batched
  ``executemany``), instead of one INSERT and flush per row;
* reads of records written in the block are answered from memory, not re-read from the
  database. A look-up by a field whose value is the id of a record first written in the block
  (``patient_id`` of a new patient, ``clinic_id`` of a new clinic) cannot match a row that was
  in the database before, so it is answered from memory alone; any other look-up asks the
  database and overlays what the block wrote;
* audit entries are inserted together at the end, in the order they were made. A read of the
  same record version, by the same actor, for the same purpose, is audited once per block
  (the audit still says who read what; repeating it thousands of times in one unit of work
  adds nothing). Writes are audited one by one, as always.

Anything that reads whole tables (export, history, the audit listing) first writes out what is
pending, so it sees everything.

Two more things keep large blocks fast: what a block keeps is taken out of the cyclic garbage
collector's rescans (``gc.freeze``; undone when the block ends), and the rows in memory are
built without the ORM's change tracking (they are inserted by Core, never added to a session).
``take`` and ``merge`` let one unit of work be made in several blocks (the parallel demo): a
block that merged rows it does not hold refuses reads.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Dialect, Table, insert
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class

from bontrack.storage.versioned import R, VersionedRow

KEY = "bontrack.bulk"
CHUNK = 5000
FREEZE_EVERY = 1000


class BulkWriter:
    """The pending rows and the in-memory view of what one bulk block wrote."""

    def __init__(self) -> None:
        self.latest: dict[tuple[type[Any], str], VersionedRow] = {}
        self.by_field: dict[tuple[type[Any], str, Any], list[str]] = defaultdict(list)
        self.fresh_ids: set[str] = set()
        self.pending: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
        self.audit: list[dict[str, Any]] = []
        self.reads_seen: set[tuple[str, str | None, int | None, str | None]] = set()
        self.kept_since_freeze = 0
        self.merged = False

    def add_row(self, cls: type[R], values: dict[str, Any], row: R | None = None) -> R:
        """Keep a new record version (its column values) for the insert; returns it as a row
        (``row``, when the caller has already built it from the same values)."""
        # The row is only ever read (it is inserted by write_out, never added to the session),
        # so it is built without the ORM's change tracking: setting attributes one by one
        # through the instrumentation cost more than the services' own work.
        if row is None:
            row = detached_row(cls, values)
        record_id = values["id"]
        key = (cls, record_id)
        if key not in self.latest and values["version"] == 1:
            self.fresh_ids.add(record_id)
        self.latest[key] = row
        for name in ("clinic_id", *cls.index_fields):
            ids = self.by_field[(cls, name, values[name])]
            if not ids or ids[-1] != record_id:
                ids.append(record_id)
        self.pending[cls].append({name: values.get(name) for name in _column_names(cls)})
        self._kept(1)
        return row

    def add_audit(self, entry: dict[str, Any]) -> None:
        if entry["action"] == "read":
            seen = (entry["actor"], entry["record_id"], entry["version"], entry["detail"])
            if seen in self.reads_seen:
                return
            self.reads_seen.add(seen)
        self.audit.append(entry)

    def check_readable(self) -> None:
        if self.merged:
            raise RuntimeError("a bulk block that merged another block's rows cannot answer reads")

    def find(self, cls: type[R], equal: dict[str, Any], from_database: Callable[[], list[R]]) -> list[R]:
        """records.find_current inside the block: memory, plus ``from_database()`` unless a value
        is the id of a record first written in the block (no earlier row can match it)."""
        self.check_readable()
        ids: set[str] | None = None
        for name, value in equal.items():
            found = set(self.by_field.get((cls, name, value), ()))
            ids = found if ids is None else ids & found
        rows: list[R] = []
        for record_id in ids or ():
            row: R = self.latest[(cls, record_id)]  # type: ignore[assignment]
            if not row.withdrawn and all(getattr(row, n) == v for n, v in equal.items()):
                rows.append(row)
        if not any(value in self.fresh_ids for value in equal.values()):
            rows += [r for r in from_database() if (cls, r.id) not in self.latest]
        return sorted(rows, key=lambda r: (r.recorded_at, r.id))

    def take(self) -> tuple[dict[type[Any], list[dict[str, Any]]], list[dict[str, Any]]]:
        """Hand over the rows and audit entries not yet written (they will not be written here)."""
        pending, audit = dict(self.pending), self.audit
        self.pending, self.audit = defaultdict(list), []
        return pending, audit

    def merge(self, pending: dict[type[Any], list[dict[str, Any]]], audit: list[dict[str, Any]]) -> None:
        """Add rows and audit entries that another bulk block made (``take``) for the same unit of
        work, in the order made; a read already audited here is not audited again.

        The merged rows are written but not held in memory, so the block refuses reads from
        here on (they could miss what was merged).
        """
        self.merged = True
        for cls, rows in pending.items():
            self.pending[cls].extend(rows)
        for entry in audit:
            self.add_audit(entry)
        self._kept(sum(map(len, pending.values())) + len(audit))

    def _kept(self, count: int) -> None:
        # What a block keeps lives until it ends (rows, audit entries, the reads seen): take it
        # out of the cyclic garbage collector's view, which would otherwise rescan all of it
        # again and again (a third of the demo's time at 1,000 patients, growing with the size).
        self.kept_since_freeze += count
        if self.kept_since_freeze >= FREEZE_EVERY:
            gc.freeze()
            self.kept_since_freeze = 0

    def write_out(self, db: Session) -> int:
        """Insert every pending row and audit entry; returns the number of record versions."""
        from bontrack.audit.models import AuditEntry

        written = 0
        for cls, rows in self.pending.items():
            insert_many(db, cls.__table__, rows)
            written += len(rows)
        insert_many(db, cast(Table, AuditEntry.__table__), self.audit)
        self.pending.clear()
        self.audit.clear()
        return written


def insert_many(db: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows that all name the same columns (None is NULL), in order, in batches.

    Core inserts of complete rows, one executemany per batch (the ORM's bulk insert leaves None
    values out, so rows that differ in which columns are None became many small statements).
    On SQLite the parameters are converted with the columns' own SQLAlchemy bind processors
    (JSON, DateTime, Boolean: exactly what Core would store) and handed to the driver at once,
    which skips Core's per-row parameter bookkeeping, a third of the insert's time.
    """
    if not rows:
        return
    connection = db.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite" or dialect.paramstyle != "qmark":
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(table), rows[start : start + CHUNK])
        return
    plan = _qmark_insert(table, dialect, tuple(rows[0]))
    for start in range(0, len(rows), CHUNK):
        params = []
        for row in rows[start : start + CHUNK]:
            values = list(plan.values(row))
            for i, process in plan.processors:
                values[i] = process(values[i])
            params.append(tuple(values))
        connection.exec_driver_sql(plan.sql, params)


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in parameter order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # position, bind processor


_inserts: dict[tuple[Table, str, tuple[str, ...]], _InsertPlan] = {}


def _qmark_insert(table: Table, dialect: Dialect, names: tuple[str, ...]) -> _InsertPlan:
    """The INSERT statement for these columns and each bind parameter's processor, in order."""
    key = (table, dialect.name, names)
    if key not in _inserts:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
        order = list(compiled.positiontup or [])
        if len(order) < 2 or sorted(order) != sorted(names):
            raise RuntimeError(f"insert into {table.name}: parameters {order} do not match {names}")
        processors = [
            (i, _with_none(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)))
            for i, name in enumerate(order)
        ]
        _inserts[key] = _InsertPlan(
            sql=str(compiled),
            values=itemgetter(*order),
            processors=tuple((i, p) for i, p in processors if p is not None),
        )
    return _inserts[key]


def _with_none(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """The processor, answering None from a value worked out once (a JSON column stores None
    as the text 'null': many audit entries have no ``before`` or ``after``)."""
    if process is None:
        return None
    for_none = process(None)

    def convert(value: Any) -> Any:
        return for_none if value is None else process(value)

    return convert


_managers: dict[type[Any], Any] = {}
_columns: dict[type[Any], tuple[str, ...]] = {}


def _manager(cls: type[Any]) -> Any:
    if cls not in _managers:
        configure_mappers()  # a class's attributes work only once every mapper is configured
        _managers[cls] = manager_of_class(cls)
    return _managers[cls]


def _column_names(cls: type[Any]) -> tuple[str, ...]:
    if cls not in _columns:
        _columns[cls] = tuple(c.name for c in cls.__table__.columns)
    return _columns[cls]


def detached_row(cls: type[R], values: dict[str, Any]) -> R:
    """A row to read (never added to a session): its columns set without ORM change tracking."""
    row: R = _manager(cls).new_instance()
    row.__dict__.update(values)
    return row


@contextmanager
def kept_out_of_gc(every: int = FREEZE_EVERY) -> Iterator[Callable[[], None]]:
    """For a loop that keeps what it makes until it ends: call the yielded ``tick`` once per
    kept item; every ``every`` items, all that is kept so far leaves the cyclic GC's rescans
    (``gc.freeze``), which otherwise grow with the heap. On leaving, it is collectable again."""
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count >= every:
            gc.freeze()
            count = 0

    try:
        yield tick
    finally:
        gc.unfreeze()


def active(db: Session) -> BulkWriter | None:
    writer = db.info.get(KEY)
    return writer if isinstance(writer, BulkWriter) else None


def write_out_pending(db: Session) -> None:
    """Before a whole-table read: insert what a bulk block holds (nothing outside one)."""
    writer = active(db)
    if writer is not None:
        writer.write_out(db)
