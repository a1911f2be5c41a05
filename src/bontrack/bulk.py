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

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from bontrack.records import VersionedRow

KEY = "bontrack.bulk"
CHUNK = 5000


class BulkWriter:
    """The pending rows and the in-memory view of what one bulk block wrote."""

    def __init__(self) -> None:
        self.latest: dict[tuple[type[Any], str], VersionedRow] = {}
        self.by_field: dict[tuple[type[Any], str, Any], list[str]] = defaultdict(list)
        self.fresh_ids: set[str] = set()
        self.pending: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
        self.audit: list[dict[str, Any]] = []
        self.reads_seen: set[tuple[str, str | None, int | None, str | None]] = set()

    def add_row(self, row: VersionedRow) -> None:
        cls = type(row)
        key = (cls, row.id)
        if key not in self.latest and row.version == 1:
            self.fresh_ids.add(row.id)
        self.latest[key] = row
        for name in ("clinic_id", *row.index_fields):
            ids = self.by_field[(cls, name, getattr(row, name))]
            if not ids or ids[-1] != row.id:
                ids.append(row.id)
        table = cls.__table__  # type: ignore[attr-defined]
        self.pending[cls].append({c.name: getattr(row, c.name) for c in table.columns})

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

        written = 0
        for cls, rows in self.pending.items():
            for start in range(0, len(rows), CHUNK):
                db.execute(insert(cls), rows[start : start + CHUNK])
            written += len(rows)
        self.pending.clear()
        for start in range(0, len(self.audit), CHUNK):
            db.execute(insert(AuditEntry), self.audit[start : start + CHUNK])
        self.audit.clear()
        return written


def active(db: Session) -> BulkWriter | None:
    writer = db.info.get(KEY)
    return writer if isinstance(writer, BulkWriter) else None


def write_out_pending(db: Session) -> None:
    """Before a whole-table read: insert what a bulk block holds (nothing outside one)."""
    writer = active(db)
    if writer is not None:
        writer.write_out(db)
