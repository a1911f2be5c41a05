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
"""

from __future__ import annotations

import gc
from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class

if TYPE_CHECKING:
    from bontrack.records import VersionedRow

R = TypeVar("R", bound="VersionedRow")

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
        self.rows_since_freeze = 0

    def add_row(self, cls: type[R], values: dict[str, Any]) -> R:
        """Keep a new record version (its column values) for the insert; returns it as a row."""
        # The row is only ever read (it is inserted by write_out, never added to the session),
        # so it is built without the ORM's change tracking: setting attributes one by one
        # through the instrumentation cost more than the services' own work.
        row: R = _manager(cls).new_instance()
        row.__dict__.update(values)
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
        self.rows_since_freeze += 1
        if self.rows_since_freeze >= FREEZE_EVERY:
            # Everything kept so far lives until the block ends: take it out of the cyclic
            # garbage collector's view, which would otherwise rescan all of it again and again
            # (a third of the demo's time at 1,000 patients, growing with the size).
            gc.freeze()
            self.rows_since_freeze = 0
        return row

    def add_audit(self, entry: dict[str, Any]) -> None:
        if entry["action"] == "read":
            seen = (entry["actor"], entry["record_id"], entry["version"], entry["detail"])
            if seen in self.reads_seen:
                return
            self.reads_seen.add(seen)
        self.audit.append(entry)

    def write_out(self, db: Session) -> int:
        """Insert every pending row and audit entry; returns the number of record versions."""
        from bontrack.audit.models import AuditEntry

        # Core inserts of complete rows (every column named, None as NULL): one executemany per
        # chunk. The ORM's bulk insert leaves None values out, so rows that differ in which
        # columns are None are split into many small statements.
        written = 0
        for cls, rows in self.pending.items():
            table = cls.__table__
            for start in range(0, len(rows), CHUNK):
                db.execute(insert(table), rows[start : start + CHUNK])
            written += len(rows)
        self.pending.clear()
        audit_table = cast(Table, AuditEntry.__table__)
        for start in range(0, len(self.audit), CHUNK):
            db.execute(insert(audit_table), self.audit[start : start + CHUNK])
        self.audit.clear()
        return written


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


def active(db: Session) -> BulkWriter | None:
    writer = db.info.get(KEY)
    return writer if isinstance(writer, BulkWriter) else None


def write_out_pending(db: Session) -> None:
    """Before a whole-table read: insert what a bulk block holds (nothing outside one)."""
    writer = active(db)
    if writer is not None:
        writer.write_out(db)
