"""Reading and querying the audit trail (writing it is storage's: bontrack.storage.audit_log).

An entry of a record write (create, update, withdraw, import) stores which version it wrote
(record type, id, version), not a copy of it: a saved version never changes, so the copy only
doubled the log. Read here, such an entry gets ``after`` (the version written) and, for an update
or a withdrawal, ``before`` (the version before it) back from the record tables.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bontrack.audit.models import (
    PACK_LIMIT,
    AuditEntry,
    AuditFiled,
    AuditPack,
    AuditRecordPack,
    AuditText,
    record_key,
)
from bontrack.kinds import BY_NAME
from bontrack.storage import audit_ids
from bontrack.storage.audit_log import write_held
from bontrack.storage.audit_packs import micros
from bontrack.storage.versioned import snapshot_of

VERSION_WRITES = ("create", "update", "withdraw", "import")
_CHUNK = 500


def _referenced(entry: AuditEntry) -> bool:
    return (
        entry.action in VERSION_WRITES
        and entry.after is None
        and entry.record_type in BY_NAME
        and entry.record_id is not None
        and entry.version is not None
    )


def with_versions(db: Session, found: Sequence[AuditEntry]) -> Sequence[AuditEntry]:
    """Fill ``before`` and ``after`` of record-write entries from the versions they name (without
    marking the entries changed: the log is append-only)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in found:
        if _referenced(entry):
            wanted[str(entry.record_type)].add(str(entry.record_id))
    versions: dict[tuple[str, str, int], dict[str, Any]] = {}
    for name, ids in wanted.items():
        table = BY_NAME[name].row.__table__
        chosen = sorted(ids)
        for start in range(0, len(chosen), _CHUNK):
            query = select(table).where(table.c.id.in_(chosen[start : start + _CHUNK]))
            for row in db.execute(query):
                values = dict(row._mapping)
                versions[(name, values["id"], values["version"])] = snapshot_of(name, values)
    for entry in found:
        if _referenced(entry):
            key = (str(entry.record_type), str(entry.record_id), int(entry.version or 0))
            set_committed_value(entry, "after", versions.get(key))
            if entry.action in ("update", "withdraw"):
                set_committed_value(entry, "before", versions.get((key[0], key[1], key[2] - 1)))
    return found


def filters(
    *,
    record_id: str | None = None,
    actor: str | None = None,
    dialect: str = "sqlite",
    clinic_id: str | None = None,
    from_day: dt.date | None = None,
    to_day: dt.date | None = None,
) -> list[ColumnElement[bool]]:
    """The view's conditions for the entries of one record and/or one actor, each narrowed first
    to the packs that can hold them (migration 0012: ``audit_record_packs`` by the record's key,
    the packs' index on their actor), so the view expands those packs only, not the whole log.
    On SQLite the packs not yet filed by record (migration 0013: after ``audit_filed.upto``, a
    few thousand at most) are read too. ``clinic_id``: that clinic's entries only (the reader is
    limited to one clinic: entries of no clinic, a log-in or a list of every user, are another
    clinic's business too), narrowed to its packs first. ``from_day`` and ``to_day``: the
    entries of those days only (UTC days, both included; an entry's time is its pack's)."""
    conditions: list[ColumnElement[bool]] = []
    if record_id is not None:
        named: Any = select(AuditRecordPack.pack).where(AuditRecordPack.record_key == record_key(record_id))
        if dialect == "sqlite":
            mark = select(AuditFiled.upto).where(AuditFiled.id == 1).scalar_subquery()
            named = union_all(named, select(AuditPack.seq).where(AuditPack.seq > mark))
        conditions += [AuditEntry.pack.in_(named), AuditEntry.record_id == record_id]
    if actor is not None:
        number = select(AuditText.id).where(AuditText.text == actor).scalar_subquery()
        by_actor = select(AuditPack.seq).where(AuditPack.actor == number)
        conditions += [AuditEntry.pack.in_(by_actor), AuditEntry.actor == actor]
    if clinic_id is not None:
        stored: Any = literal(clinic_id)
        if dialect == "sqlite":  # the clinic by number (migration 0016)
            stored = select(AuditText.id).where(AuditText.text == clinic_id).scalar_subquery()
        of_clinic = select(AuditPack.seq).where(AuditPack.clinic_id == stored)
        conditions += [AuditEntry.pack.in_(of_clinic), AuditEntry.clinic_id == clinic_id]
    if from_day is not None or to_day is not None:
        in_days = select(AuditPack.seq)
        if from_day is not None:
            in_days = in_days.where(AuditPack.at >= micros(dt.datetime.combine(from_day, dt.time())))
        if to_day is not None:
            after = dt.datetime.combine(to_day + dt.timedelta(days=1), dt.time())
            in_days = in_days.where(AuditPack.at < micros(after))
        conditions.append(AuditEntry.pack.in_(in_days))
    return conditions


def entries(
    db: Session, *, record_id: str | None = None, action: str | None = None, actor: str | None = None
) -> Sequence[AuditEntry]:
    """Audit entries in the order written, optionally for one record, one action, one actor."""
    conditions = filters(record_id=record_id, actor=actor, dialect=db.get_bind().dialect.name)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    write_held(db)
    db.flush()
    return with_versions(db, db.scalars(query).all())


def _count_in_pack(db: Session) -> ColumnElement[int]:
    """How many entries a pack holds (one when it names no record; bontrack.storage.audit_ids)."""
    dialect = db.get_bind().dialect.name
    counted = audit_ids.POSTGRES_COUNT if dialect == "postgresql" else audit_ids.SQLITE_COUNT
    return func.coalesce(literal_column(audit_ids.sql(counted, ids="audit_packs.ids")), 1)


def _newest_packs(db: Session, wanted: int) -> tuple[int, int | None]:
    """All entries, and the oldest pack the newest ``wanted`` entries lie in (None: no entries):
    read from the packs, so the view expands only those (it cannot index an entry's seq)."""
    packs: Table = AuditPack.__table__  # type: ignore[assignment]
    counted = _count_in_pack(db)
    total = int(db.scalar(select(func.coalesce(func.sum(counted), 0)).select_from(packs)) or 0)
    bound, seen = None, 0
    for seq, count in db.execute(select(packs.c.seq, counted).order_by(packs.c.seq.desc()).limit(wanted)):
        bound, seen = seq, seen + count
        if seen >= wanted:
            break
    return total, bound


def entry(db: Session, seq: int, *, clinic_id: str | None = None) -> AuditEntry | None:
    """One audit entry by its seq (its pack named, so the view expands that pack only); with
    ``clinic_id``, None unless it is that clinic's."""
    write_held(db)
    db.flush()
    query = select(AuditEntry).where(AuditEntry.pack == seq // PACK_LIMIT, AuditEntry.seq == seq)
    if clinic_id is not None:
        query = query.where(AuditEntry.clinic_id == clinic_id)
    found = db.scalars(query).all()
    return with_versions(db, found)[0] if found else None


def page_entries(
    db: Session,
    *,
    limit: int,
    offset: int,
    record_id: str | None = None,
    actor: str | None = None,
    clinic_id: str | None = None,
    from_day: dt.date | None = None,
    to_day: dt.date | None = None,
) -> tuple[int, Sequence[AuditEntry]]:
    """One page of audit entries, newest first, optionally of one record, one actor, the days
    ``from_day`` to ``to_day`` (UTC, both included), and the total; ``clinic_id``: of that clinic
    only (a reader limited to one clinic: see ``filters``)."""
    conditions = filters(
        record_id=record_id,
        actor=actor,
        dialect=db.get_bind().dialect.name,
        clinic_id=clinic_id,
        from_day=from_day,
        to_day=to_day,
    )
    write_held(db)
    db.flush()
    if conditions:
        total = int(db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0)
    else:
        total, bound = _newest_packs(db, offset + limit)
        if bound is None:
            return 0, []
        conditions.append(AuditEntry.pack >= bound)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    return total, with_versions(db, db.scalars(query).all())
