"""Inserting audit entries the lean way (bontrack.audit.models): packed, their texts stored once.

``insert_entries`` takes entries as the writers hold them (one dict per record read or written,
the columns of the view ``audit_log``), packs each run of consecutive entries that share actor,
action, record type, clinic, detail, outcome and second into one ``audit_packs`` row (the order
of entries is kept: only neighbours are packed), and refers to their texts by number.

Text numbers are looked up in ``audit_texts`` and the missing ones inserted (ON CONFLICT DO
NOTHING). On PostgreSQL a new text is inserted and committed at once, in a short transaction on a
connection of its own: inserted by the unit of work itself, a second transaction adding the same
text would wait for the first's commit, and a first that meanwhile waits for a lock the second
holds (a patient's derived rows: bontrack.storage.derived.one_writer) would deadlock with it
(tests/scheduling/test_due_two_writers.py). A text is not patient data: one left by a unit of work
that rolls back is harmless. On SQLite the unit of work inserts it (one writer at a time: a
second connection would wait for the unit's own lock). Numbers found by a look-up of a text this
unit of work did not insert are committed ones and are remembered for the engine
(``forget_texts`` after a restore); a number inserted by a transaction that may still roll back
is not.

On SQLite the packs are filed by record (``audit_record_packs``) in batches, not one by one
(migration 0013): each writer, every ``CHECK_EVERY`` packs it inserts, looks whether
``FILE_EVERY`` packs are waiting, and if so files them in its own transaction, sorted by key,
so each page of the index is written once for many keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, create_engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bontrack.audit.models import PACK_LIMIT, AuditFiled, AuditPack, AuditText
from bontrack.storage import audit_ids
from bontrack.storage.audit_ids import SQLITE_FILE
from bontrack.storage.inserts import insert_many

_known: WeakKeyDictionary[Any, dict[str, int]] = WeakKeyDictionary()  # per engine: text -> number
_EPOCH = datetime(1970, 1, 1)
_TEXTS = ("actor", "action", "record_type", "detail", "outcome")
NO_CLINIC_NUMBER = 0  # SQLite: the clinic number of a pack of no clinic


def packs_table() -> Table:
    return cast(Table, AuditPack.__table__)


def micros(at: datetime) -> int:
    """A naive UTC time as whole microseconds since 1970 (what a pack stores)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    at: datetime = entry["at"]
    return (
        entry["actor"],
        entry["action"],
        entry["record_type"],
        entry["clinic_id"],
        entry["detail"],
        entry["outcome"],
        at.replace(microsecond=0),
    )


def pack(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[tuple[Any, Any]] | None]]:
    """Runs of neighbouring entries that share a key: (the first entry, [(id, version), ...] or
    None for an entry that names no record). An entry carrying ``before``/``after`` stands alone."""
    out: list[tuple[dict[str, Any], list[tuple[Any, Any]] | None]] = []
    last_key: tuple[Any, ...] | None = None
    for entry in entries:
        record = entry["record_id"] is not None or entry["version"] is not None
        alone = not record or entry.get("before") is not None or entry.get("after") is not None
        key = None if alone else _key(entry)
        if key is not None and key == last_key and len(out[-1][1] or ()) < PACK_LIMIT:
            cast(list[tuple[Any, Any]], out[-1][1]).append((entry["record_id"], entry["version"]))
            continue
        out.append((entry, [(entry["record_id"], entry["version"])] if record else None))
        last_key = key
    return out


def text_numbers(db: Session, texts: set[str]) -> dict[str, int]:
    """The number of each text in audit_texts (inserted when missing)."""
    bind = db.get_bind()
    known = _known.setdefault(getattr(bind, "engine", bind), {})
    found = {t: known[t] for t in texts if t in known}
    missing = sorted(texts - set(found))
    if not missing:
        return found
    inserted: set[str] = db.info.setdefault("bontrack.audit_texts_inserted", set())
    table = cast(Table, AuditText.__table__)
    connection = db.connection()
    for row in connection.execute(select(table.c.text, table.c.id).where(table.c.text.in_(missing))):
        found[row.text] = row.id
    absent = [t for t in missing if t not in found]
    if absent and connection.dialect.name == "postgresql":
        _insert_committed(connection.engine, table, absent)
        for row in connection.execute(select(table.c.text, table.c.id).where(table.c.text.in_(absent))):
            found[row.text] = row.id
        absent = [t for t in absent if t not in found]  # (a snapshot older than the insert: below)
    if absent:
        make = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(make(table).on_conflict_do_nothing(), [{"text": t} for t in absent])
        for row in connection.execute(select(table.c.text, table.c.id).where(table.c.text.in_(absent))):
            found[row.text] = row.id
        inserted.update(absent)
    for text in missing:
        if text not in inserted:
            known[text] = found[text]
    return found


_own_connection: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()  # per engine


def _insert_committed(engine: Engine, table: Table, texts: list[str]) -> None:
    """PostgreSQL: insert ``texts`` into audit_texts and commit, on a connection of their own
    (opened for it and closed: new texts are rare, and the engine's pool may be all in use by
    units of work that wait for this one)."""
    own = _own_connection.get(engine)
    if own is None:
        own = _own_connection[engine] = create_engine(engine.url, poolclass=NullPool)
    with own.begin() as connection:
        connection.execute(pg_insert(table).on_conflict_do_nothing(), [{"text": t} for t in texts])


def pack_rows(db: Session, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit_packs rows of these entries, in order."""
    packed = pack(entries)
    texts = {str(e[name]) for e, _ids in packed for name in _TEXTS if e[name] is not None}
    by_number = db.connection().dialect.name == "sqlite"  # the clinic by number (migration 0016)
    if by_number:
        texts |= {str(e["clinic_id"]) for e, _ids in packed if e["clinic_id"] is not None}
    number = text_numbers(db, texts)
    rows = []
    for first, ids in packed:
        before, after = first.get("before"), first.get("after")
        rows.append(
            {
                "at": micros(first["at"]),
                "actor": number[first["actor"]],
                "action": number[first["action"]],
                "clinic_id": (NO_CLINIC_NUMBER if first["clinic_id"] is None else number[first["clinic_id"]])
                if by_number
                else first["clinic_id"],
                "record_type": None if first["record_type"] is None else number[first["record_type"]],
                "detail": None if first["detail"] is None else number[first["detail"]],
                "outcome": number[first["outcome"]],
                "ids": None if ids is None else audit_ids.encode(ids),
                "extra": None if before is None and after is None else {"before": before, "after": after},
            }
        )
    return rows


def insert_entries(db: Session, entries: list[dict[str, Any]]) -> None:
    """Insert audit entries (dicts of the view's columns but seq), packed, in the order given."""
    if entries:
        rows = pack_rows(db, entries)
        insert_many(db, packs_table(), rows)
        _file_when_due(db, len(rows))


# On SQLite: a writer looks whether packs wait to be filed after every CHECK_EVERY packs it
# inserted, and files them once FILE_EVERY wait (at most about FILE_EVERY + CHECK_EVERY per
# process are read by a filter besides the index; a batch of 2,048 packs of chart reads is about
# 9,000 keys, filed in ~30 ms).
CHECK_EVERY = 256
FILE_EVERY = 2048
_inserted: WeakKeyDictionary[Any, int] = WeakKeyDictionary()  # per engine: packs since the last look
# (OR IGNORE skips a record named twice in a pack, and an entry of no record id: its key is NULL;
# the packs' ids decoded in SQL as migration 0016's view does)
_FILE_SQL = SQLITE_FILE


def _file_when_due(db: Session, added: int) -> None:
    connection = db.connection()
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL: the trigger files each pack (migration 0012)
    engine = connection.engine
    count = _inserted.get(engine, 0) + added
    if count < CHECK_EVERY:
        _inserted[engine] = count
        return
    _inserted[engine] = 0
    file_records(db, at_least=FILE_EVERY)


def file_records(db: Session, at_least: int = 1) -> int:
    """File the packs inserted since the last filing under their records' keys, if at least
    ``at_least`` wait (SQLite; see AuditFiled), in this unit of work; how many packs were filed."""
    connection = db.connection()
    if connection.dialect.name != "sqlite":
        return 0
    upto = connection.execute(select(AuditFiled.upto).where(AuditFiled.id == 1)).scalar_one()
    last = connection.execute(select(func.coalesce(func.max(packs_table().c.seq), 0))).scalar_one()
    if last - upto < at_least:
        return 0
    connection.exec_driver_sql(_FILE_SQL, (upto, last))
    connection.execute(update(AuditFiled).where(AuditFiled.id == 1).values(upto=last))
    return int(last - upto)


def forget_texts() -> None:
    """Forget the text numbers remembered (a restore replaced the database under its engines)."""
    _known.clear()
