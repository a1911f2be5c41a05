"""Versioned records: every record type is stored the same way, append-only.

A record has a stable ``id`` (UUID) and versions 1, 2, 3 ...; each version is one row holding
the validated content as JSON (``data``) plus a few indexed columns copied from it for look-ups.
An update inserts the next version; a withdrawal inserts a version marked ``withdrawn``. No row
is ever updated or deleted, so the whole history can be read back and exported. Two writers who
both try to add version n+1 collide on the primary key, and the second one fails.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from bontrack.audit.service import log, utcnow, write_pending
from bontrack.bulk import KEY as BULK_KEY
from bontrack.bulk import BulkWriter, write_out_pending
from bontrack.bulk import active as bulk_writer
from bontrack.errors import NotFoundError, WithdrawnError, not_found_message, require_reason
from bontrack.schemas import UtcTime

T = TypeVar("T", bound=BaseModel)


class VersionedRow:
    """Columns shared by every record table (mixed into each domain's model)."""

    record_type: ClassVar[str]
    index_fields: ClassVar[tuple[str, ...]] = ()

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(String(36), index=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    def snapshot(self) -> dict[str, Any]:
        """The version as the audit log and the export see it."""
        return {
            "type": self.record_type,
            "id": self.id,
            "version": self.version,
            "clinic_id": self.clinic_id,
            "withdrawn": self.withdrawn,
            "recorded_at": self.recorded_at.isoformat(),
            "recorded_by": self.recorded_by,
            "reason": self.reason,
            "data": self.data,
        }


def snapshot_of(record_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """``VersionedRow.snapshot`` of a version given as its column values (no row object needed)."""
    return {
        "type": record_type,
        "id": values["id"],
        "version": values["version"],
        "clinic_id": values["clinic_id"],
        "withdrawn": values["withdrawn"],
        "recorded_at": values["recorded_at"].isoformat(),
        "recorded_by": values["recorded_by"],
        "reason": values["reason"],
        "data": values["data"],
    }


R = TypeVar("R", bound=VersionedRow)


class Stored(BaseModel, Generic[T]):
    """One version of a record, as services return it (``XRead`` = ``Stored[XCreate]``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    clinic_id: str
    withdrawn: bool
    recorded_at: UtcTime
    recorded_by: str
    reason: str | None
    data: T


_READS = "_bontrack_reads"


def to_read(row: VersionedRow, schema: type[T]) -> Stored[T]:
    """A stored row as a typed read schema.

    A saved version never changes, and Stored is frozen, so the validated read is kept on the row
    and handed out again: services read the same records many times in one unit of work (the
    decision engine's context, each follow-up's session), and re-validating was most of the cost.
    """
    reads: dict[type[BaseModel], Stored[Any]] = row.__dict__.setdefault(_READS, {})
    cached = reads.get(schema)
    if cached is None:
        # the envelope comes from the stored row, already typed: only the content is validated
        cached = reads[schema] = Stored.model_construct(
            id=row.id,
            version=row.version,
            clinic_id=row.clinic_id,
            withdrawn=row.withdrawn,
            recorded_at=row.recorded_at,
            recorded_by=row.recorded_by,
            reason=row.reason,
            # stored content was validated when saved: read it back as it is (no input bounds)
            data=schema.model_validate(row.data, strict=False, context={"stored": True}),
        )
    return cached


_id_source: ContextVar[Callable[[], str] | None] = ContextVar("bontrack_id_source", default=None)


def new_id() -> str:
    """A new record id: a random UUID, or the next one from ``ids_from`` inside that block."""
    source = _id_source.get()
    return source() if source is not None else str(uuid.uuid4())


@contextmanager
def ids_from(source: Callable[[], str]) -> Iterator[None]:
    """Within the block, new records take their ids from ``source`` (the synthetic clinic's
    pre-drawn ids, so a demo is identical for a seed)."""
    token = _id_source.set(source)
    try:
        yield
    finally:
        _id_source.reset(token)


def _append(
    db: Session,
    row_cls: type[R],
    *,
    record_id: str,
    version: int,
    clinic_id: str,
    data: dict[str, Any],
    actor: str,
    withdrawn: bool = False,
    reason: str | None = None,
) -> R:
    values: dict[str, Any] = {
        "id": record_id,
        "version": version,
        "clinic_id": clinic_id,
        "withdrawn": withdrawn,
        "recorded_at": utcnow(),
        "recorded_by": actor,
        "reason": reason,
        "data": data,
    }
    for name in row_cls.index_fields:
        values[name] = data.get(name)
    writer = bulk_writer(db)
    if writer is not None:
        return writer.add_row(row_cls, values)
    row = row_cls(**values)
    db.add(row)
    db.flush()
    return row


def fill_index_columns(row: VersionedRow) -> None:
    """Copy the indexed look-up fields from the JSON content into their columns."""
    for name in row.index_fields:
        setattr(row, name, row.data.get(name))


def latest(db: Session, row_cls: type[R], record_id: str) -> R | None:
    """The newest version of a record, withdrawn or not (no audit: callers audit)."""
    writer = bulk_writer(db)
    if writer is not None:
        writer.check_readable()
        cached = writer.latest.get((row_cls, record_id))
        if cached is not None:
            return cached  # type: ignore[return-value]
    query = select(row_cls).where(row_cls.id == record_id).order_by(row_cls.version.desc()).limit(1)
    return db.scalars(query).first()


def create(
    db: Session,
    *,
    row_cls: type[R],
    data: BaseModel,
    clinic_id: str,
    actor: str,
    record_id: str | None = None,
) -> R:
    """Save version 1 of a new record and audit it."""
    row = _append(
        db,
        row_cls,
        record_id=record_id or new_id(),
        version=1,
        clinic_id=clinic_id,
        data=data.model_dump(mode="json"),
        actor=actor,
    )
    log(
        db,
        actor=actor,
        action="create",
        record_type=row.record_type,
        record_id=row.id,
        version=1,
        clinic_id=clinic_id,
        after=row.snapshot(),
    )
    return row


def _current_or_raise(db: Session, row_cls: type[R], record_id: str, field: str) -> R:
    row = latest(db, row_cls, record_id)
    if row is None:
        raise NotFoundError.one(field, not_found_message(row_cls.record_type, record_id))
    if row.withdrawn:
        raise WithdrawnError(field, row_cls.record_type, record_id, row.clinic_id)
    return row


def update(db: Session, *, row_cls: type[R], record_id: str, data: BaseModel, actor: str, reason: str) -> R:
    """Save a corrected version; the previous one stays readable in the history."""
    require_reason(reason, "corrected")
    before = _current_or_raise(db, row_cls, record_id, "id")
    return _next_version(db, before, data.model_dump(mode="json"), actor, reason, withdrawn=False)


def withdraw(db: Session, *, row_cls: type[R], record_id: str, actor: str, reason: str) -> R:
    """Mark a record withdrawn (a new version); nothing is deleted."""
    require_reason(reason, "withdrawn")
    before = _current_or_raise(db, row_cls, record_id, "id")
    return _next_version(db, before, before.data, actor, reason, withdrawn=True)


def _next_version(
    db: Session, before: R, data: dict[str, Any], actor: str, reason: str, *, withdrawn: bool
) -> R:
    """Append version n+1 of ``before`` and audit it as an update or a withdrawal."""
    row = _append(
        db,
        type(before),
        record_id=before.id,
        version=before.version + 1,
        clinic_id=before.clinic_id,
        data=data,
        actor=actor,
        withdrawn=withdrawn,
        reason=reason,
    )
    log(
        db,
        actor=actor,
        action="withdraw" if withdrawn else "update",
        record_type=row.record_type,
        record_id=before.id,
        version=row.version,
        clinic_id=row.clinic_id,
        before=before.snapshot(),
        after=row.snapshot(),
        detail=reason,
    )
    return row


def _audit_read(db: Session, rows: Sequence[VersionedRow], actor: str, detail: str | None) -> None:
    for row in rows:
        log(
            db,
            actor=actor,
            action="read",
            record_type=row.record_type,
            record_id=row.id,
            version=row.version,
            clinic_id=row.clinic_id,
            detail=detail,
        )


def get(
    db: Session,
    *,
    row_cls: type[R],
    record_id: str,
    actor: str,
    field: str = "id",
    purpose: str | None = None,
) -> R:
    """The current version of a record (withdrawn records are not found); audited as a read."""
    row = _current_or_raise(db, row_cls, record_id, field)
    _audit_read(db, [row], actor, purpose)
    return row


def get_many(
    db: Session,
    *,
    row_cls: type[R],
    record_ids: Sequence[str],
    actor: str,
    purpose: str | None = None,
) -> dict[str, R]:
    """The current versions of several records by id, in a few queries (not one per record);
    withdrawn or unknown ids are left out. Audited as reads, like ``get``."""
    found: dict[str, R] = {}
    wanted = list(dict.fromkeys(record_ids))
    if bulk_writer(db) is not None:  # a bulk block answers from memory first, one by one
        for record_id in wanted:
            row = latest(db, row_cls, record_id)
            if row is not None and not row.withdrawn:
                found[record_id] = row
    else:
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            newest = (
                select(row_cls.id.label("rid"), func.max(row_cls.version).label("v"))
                .where(row_cls.id.in_(chunk))
                .group_by(row_cls.id)
                .subquery()
            )
            query = (
                select(row_cls)
                .join(newest, and_(row_cls.id == newest.c.rid, row_cls.version == newest.c.v))
                .where(row_cls.withdrawn.is_(False))
            )
            found.update((row.id, row) for row in db.scalars(query))
    rows = [found[i] for i in wanted if i in found]
    _audit_read(db, rows, actor, purpose)
    return {row.id: row for row in rows}


_IDS_PER_QUERY = 500  # well under every engine's limit of bound parameters


def history(db: Session, *, row_cls: type[R], record_id: str, actor: str) -> list[R]:
    """Every version of a record, oldest first, withdrawn ones included; audited as reads."""
    write_out_pending(db)
    rows = list(db.scalars(select(row_cls).where(row_cls.id == record_id).order_by(row_cls.version)))
    if not rows:
        raise NotFoundError.one("id", not_found_message(row_cls.record_type, record_id))
    _audit_read(db, rows, actor, "history")
    return rows


def find_current(
    db: Session, *, row_cls: type[R], actor: str, purpose: str | None = None, **equal: Any
) -> list[R]:
    """Current, non-withdrawn versions whose indexed columns equal the given values; audited."""
    for name in equal:
        if name != "clinic_id" and name not in row_cls.index_fields:
            raise ValueError(f"{row_cls.record_type} has no indexed field {name!r}")
    writer = bulk_writer(db)
    if writer is not None:
        rows = writer.find(row_cls, equal, lambda: _find_in_database(db, row_cls, equal))
    else:
        rows = _find_in_database(db, row_cls, equal)
    _audit_read(db, rows, actor, purpose)
    return rows


def _find_in_database(db: Session, row_cls: type[R], equal: dict[str, Any]) -> list[R]:
    if any(value is None for value in equal.values()):  # IS NULL: built for the values at hand
        return list(db.scalars(_find_statement(row_cls, equal)))
    statement = _find_statements.get((row_cls, tuple(equal)))
    if statement is None:
        names: dict[str, Any] = {name: bindparam(f"eq_{name}") for name in equal}
        statement = _find_statements[(row_cls, tuple(equal))] = _find_statement(row_cls, names)
    return list(db.scalars(statement, {f"eq_{name}": value for name, value in equal.items()}))


# The look-up statement of each record type and set of fields, built once with bound parameters:
# building it anew for every call cost more than running it (the chart makes eight per request).
_find_statements: dict[tuple[type[Any], tuple[str, ...]], Select[Any]] = {}


def _find_statement(row_cls: type[R], equal: dict[str, Any]) -> Select[Any]:
    conditions = [getattr(row_cls, name) == value for name, value in equal.items()]
    # Narrow to records that ever matched (indexed), take their newest version, then check that
    # the newest still matches (a correction may have changed the field).
    candidates = select(row_cls.id).where(*conditions)
    newest = (
        select(row_cls.id.label("rid"), func.max(row_cls.version).label("v"))
        .where(row_cls.id.in_(candidates))
        .group_by(row_cls.id)
        .subquery()
    )
    query = (
        select(row_cls)
        .join(newest, and_(row_cls.id == newest.c.rid, row_cls.version == newest.c.v))
        .where(row_cls.withdrawn.is_(False), *conditions)
    )
    return query.order_by(row_cls.recorded_at, row_cls.id)


def page_current(
    db: Session,
    *,
    row_cls: type[R],
    actor: str,
    limit: int,
    offset: int,
    purpose: str | None = None,
    containing: tuple[str, tuple[str, ...]] | None = None,
    **equal: Any,
) -> tuple[int, list[R]]:
    """One page of current, non-withdrawn records (oldest first) and how many there are in all.

    ``containing=(text, fields)`` keeps records where any of these top-level text fields of
    ``data`` contains ``text``, ignoring case (a search box). Only the records on the page are
    audited as read: the count reveals no content.
    """
    for name in equal:
        if name != "clinic_id" and name not in row_cls.index_fields:
            raise ValueError(f"{row_cls.record_type} has no indexed field {name!r}")
    write_out_pending(db)
    conditions = [getattr(row_cls, name) == value for name, value in equal.items()]
    newest_query = select(row_cls.id.label("rid"), func.max(row_cls.version).label("v"))
    if conditions:  # narrow to records that ever matched; the newest version must still match
        newest_query = newest_query.where(row_cls.id.in_(select(row_cls.id).where(*conditions)))
    newest = newest_query.group_by(row_cls.id).subquery()
    current = (
        select(row_cls)
        .join(newest, and_(row_cls.id == newest.c.rid, row_cls.version == newest.c.v))
        .where(row_cls.withdrawn.is_(False), *conditions)
    )
    if containing is not None:
        text, fields = containing
        needle = text.strip().lower()
        current = current.where(
            or_(*(func.lower(row_cls.data[f].as_string()).contains(needle, autoescape=True) for f in fields))
        )
    total = int(db.scalar(select(func.count()).select_from(current.subquery())) or 0)
    rows = list(db.scalars(current.order_by(row_cls.recorded_at, row_cls.id).limit(limit).offset(offset)))
    _audit_read(db, rows, actor, purpose)
    return total, rows


@contextmanager
def bulk(db: Session) -> Iterator[BulkWriter]:
    """Many service calls, one batched write at the end (see bontrack.bulk for the rules)."""
    if bulk_writer(db) is not None:
        raise RuntimeError("a bulk block is already open on this session")
    write_pending(db)  # audit entries made before the block go before the block's own
    writer = BulkWriter()
    db.info[BULK_KEY] = writer
    try:
        yield writer
        writer.write_out(db)
    finally:
        db.info.pop(BULK_KEY, None)
        gc.unfreeze()  # what the block froze (see BulkWriter.add_row) is collectable again


def all_versions(db: Session, row_cls: type[R]) -> list[R]:
    """Every row of a record type in a stable order (for export; the caller audits)."""
    write_out_pending(db)
    return list(db.scalars(select(row_cls).order_by(row_cls.id, row_cls.version)))
