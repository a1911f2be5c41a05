"""Bulk writing: many service calls in one transaction without a database round trip per row.

Inside ``bulk(db)`` the services run unchanged (validation, decision engine, audit), but:

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

``BulkWriter`` is one of the unit of work's writers (bontrack.storage.unit.Writer): the services
and ``bontrack.records`` write through the same calls inside a block as outside one.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from bontrack.storage.audit_packs import insert_entries
from bontrack.storage.buffered import buffered_of
from bontrack.storage.caseless import Caseless, matches
from bontrack.storage.inserts import column_names, detached_row, insert_many
from bontrack.storage.times import utcnow
from bontrack.storage.unit import writer_of, writing_with
from bontrack.storage.versioned import R, VersionedRow

FREEZE_EVERY = 1000


class BulkWriter:
    """The pending rows and the in-memory view of what one bulk block wrote."""

    def __init__(self) -> None:
        self.latest: dict[tuple[type[Any], str], VersionedRow] = {}
        self.by_field: dict[tuple[type[Any], str, Any], list[str]] = defaultdict(list)
        self.fresh_ids: set[str] = set()
        self.pending: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
        self.entries: list[dict[str, Any]] = []
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
        self.pending[cls].append({name: values.get(name) for name in column_names(cls)})
        self._kept(1)
        return row

    # ---- the writer interface (bontrack.storage.unit.Writer) ----
    def append(self, db: Session, cls: type[R], values: dict[str, Any]) -> R:
        return self.add_row(cls, values)

    def audit(
        self,
        db: Session,
        *,
        actor: str,
        action: str,
        record_type: str | None,
        record_id: str | None,
        version: int | None,
        clinic_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        detail: str | None,
        outcome: str,
    ) -> None:
        if action == "read" and (actor, record_id, version, detail) in self.reads_seen:
            return  # audited once per block (see above); skip building the entry
        self.add_audit(
            {
                "at": utcnow(),
                "actor": actor,
                "action": action,
                "record_type": record_type,
                "record_id": record_id,
                "version": version,
                "clinic_id": clinic_id,
                "before": before,
                "after": after,
                "detail": detail,
                "outcome": outcome,
            }
        )

    def flush(self, db: Session) -> None:
        self.write_out(db)

    def held(self, cls: type[R], record_id: str) -> R | None:
        self.check_readable()
        return self.latest.get((cls, record_id))  # type: ignore[return-value]

    def held_audit(self) -> list[dict[str, Any]]:
        return list(self.entries)

    # ---- what only a bulk block does ----
    def add_audit(self, entry: dict[str, Any]) -> None:
        if entry["action"] == "read":
            seen = (entry["actor"], entry["record_id"], entry["version"], entry["detail"])
            if seen in self.reads_seen:
                return
            self.reads_seen.add(seen)
        self.entries.append(entry)

    def check_readable(self) -> None:
        if self.merged:
            raise RuntimeError("a bulk block that merged another block's rows cannot answer reads")

    def find(self, cls: type[R], equal: dict[str, Any], from_database: Callable[[], list[R]]) -> list[R]:
        """records.find_current inside the block: memory, plus ``from_database()`` unless a value
        is the id of a record first written in the block (no earlier row can match it)."""
        self.check_readable()
        ids: set[str] | None = None
        for name, value in equal.items():
            found = self._ids_of(cls, name, value)
            ids = found if ids is None else ids & found
        rows: list[R] = []
        for record_id in ids or ():
            row: R = self.latest[(cls, record_id)]  # type: ignore[assignment]
            if not row.withdrawn and all(matches(v, getattr(row, n)) for n, v in equal.items()):
                rows.append(row)
        if not any(isinstance(value, str) and value in self.fresh_ids for value in equal.values()):
            rows += [r for r in from_database() if (cls, r.id) not in self.latest]
        return sorted(rows, key=lambda r: (r.recorded_at, r.id))

    def _ids_of(self, cls: type[Any], name: str, value: Any) -> set[str]:
        """The records written in the block whose field ever had the value (a Caseless one: any
        of its spellings)."""
        if not isinstance(value, Caseless):
            return set(self.by_field.get((cls, name, value), ()))
        spellings = value.spellings()
        if spellings is None:  # too many to look up: every value of the field held
            held = (
                ids for (c, n, v), ids in self.by_field.items() if c is cls and n == name and value.matches(v)
            )
            return set().union(*held)
        return set().union(*(self.by_field.get((cls, name, s), ()) for s in spellings))

    def take(self) -> tuple[dict[type[Any], list[dict[str, Any]]], list[dict[str, Any]]]:
        """Hand over the rows and audit entries not yet written (they will not be written here)."""
        pending, audit = dict(self.pending), self.entries
        self.pending, self.entries = defaultdict(list), []
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
        written = 0
        for cls, rows in self.pending.items():
            insert_many(db, cls.__table__, rows)
            written += len(rows)
        insert_entries(db, self.entries)
        self.pending.clear()
        self.entries.clear()
        return written


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


def bulk_writer_of(db: Session) -> BulkWriter | None:
    """The open bulk block's writer, if the session's unit of work is in one."""
    writer = writer_of(db)
    return writer if isinstance(writer, BulkWriter) else None


@contextmanager
def bulk(db: Session) -> Iterator[BulkWriter]:
    """Many service calls, one batched write at the end (see the rules above)."""
    if bulk_writer_of(db) is not None:
        raise RuntimeError("a bulk block is already open on this session")
    buffered_of(db).write_audit(db)  # audit entries made before the block go before the block's own
    writer = BulkWriter()
    try:
        with writing_with(db, writer):
            yield writer
            writer.write_out(db)
    finally:
        gc.unfreeze()  # what the block froze (see BulkWriter.add_row) is collectable again
