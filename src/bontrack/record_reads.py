"""Current versions read as plain columns: the same versions, errors and audit entries as
``bontrack.records``' ORM reads (``get``, ``find_current``), but a version read before is handed
out again instead of validated again (bontrack.current_reads). Inside a bulk block, whose
writer holds versions of its own, each is the ORM read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.current_reads import read_columns, read_found, read_rows, read_statement, read_version
from bontrack.errors import NotFoundError, WithdrawnError, not_found_message
from bontrack.storage.audit_log import log
from bontrack.storage.buffered import BufferedWriter
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import R, Stored, T, newest_versions, to_read


def get_read(
    db: Session,
    *,
    row_cls: type[R],
    schema: type[T],
    record_id: str,
    actor: str,
    field: str = "id",
    purpose: str | None = None,
) -> Stored[T]:
    """``get``, read as ``schema``: the same version, the same errors and the same audit entry,
    but read as plain columns, a version read before handed out again (bontrack.current_reads),
    instead of as an ORM object validated again. Inside a bulk block: ``get`` and ``to_read``."""
    if type(writer_of(db)) is not BufferedWriter:  # a bulk block's writer holds versions of its own
        row = records.get(db, row_cls=row_cls, record_id=record_id, actor=actor, field=field, purpose=purpose)
        return to_read(row, schema)
    statement = _latest_read_statements.get(row_cls)
    if statement is None:
        among = row_cls.id == bindparam("record_id")
        statement = _latest_read_statements[row_cls] = newest_versions(
            row_cls, among=among, withdrawn=None
        ).with_only_columns(*read_columns(row_cls), row_cls.withdrawn)
    rows = read_rows(db, statement, {"record_id": record_id})
    record_type = row_cls.record_type
    found = rows[0] if rows else None
    if found is None:
        raise NotFoundError.one(field, not_found_message(record_type, record_id))
    clinic_id = found[2]
    error = records.hidden_by_id(actor, record_type, found[0], clinic_id, field)
    if error is not None:
        raise error
    if found[7]:
        raise WithdrawnError(field, record_type, record_id, clinic_id)
    read: Stored[T] = read_version(schema, record_type, found[:7])
    log_reads(db, actor, record_type, [read], purpose)
    return read


_latest_read_statements: dict[type[Any], Select[Any]] = {}  # built once per record type


def find_current_read(
    db: Session, *, row_cls: type[R], schema: type[T], actor: str, purpose: str | None = None, **equal: Any
) -> list[Stored[T]]:
    """``find_current``, read as ``schema``: the same versions in the same order, audited the
    same way, but read as plain columns, a version read before handed out again
    (bontrack.current_reads; which versions are current is asked every time).

    Inside a bulk block (whose writer holds versions of its own) or for a look-up by a missing
    value, this is ``find_current`` and ``to_read``."""
    for name in equal:
        if name != "clinic_id" and name not in row_cls.index_fields:
            raise ValueError(f"{row_cls.record_type} has no indexed field {name!r}")
    if not records.scope(actor, equal):
        return []
    if type(writer_of(db)) is not BufferedWriter or any(
        value is None or isinstance(value, records.Caseless) for value in equal.values()
    ):
        rows = records.find_current(db, row_cls=row_cls, actor=actor, purpose=purpose, **equal)
        return [to_read(row, schema) for row in rows]
    statement = read_statement(row_cls, tuple(equal), records.find_statement)
    record_type = row_cls.record_type
    reads = read_found(db, statement, equal, schema, record_type)
    log_reads(db, actor, record_type, reads, purpose)
    return reads


def log_reads(
    db: Session, actor: str, record_type: str, reads: Sequence[Stored[Any]], purpose: str | None
) -> None:
    """Audit versions read (as ``record_lookups.audit_read`` does rows)."""
    for read in reads:
        log(
            db,
            actor=actor,
            action="read",
            record_type=record_type,
            record_id=read.id,
            version=read.version,
            clinic_id=read.clinic_id,
            detail=purpose,
        )
