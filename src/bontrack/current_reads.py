"""Current versions read as their schemas from plain columns, and kept by version.

``bontrack.record_reads.find_current_read`` reads the current versions a look-up finds as plain
columns (no ORM object per version); a version read before (by any request of this process) is
handed out again from here instead of being decoded and validated again: a saved version never
changes (bontrack.storage.versioned.to_read), and which versions are current is asked of the
database every time, so a correction shows at once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Executable, Select, bindparam
from sqlalchemy.orm import Session

from bontrack.storage.record_json import raw_of, unpack
from bontrack.storage.versioned import R, Stored, T, stored_version


def read_statement(
    row_cls: type[R], names: tuple[str, ...], find_statement: Callable[[type[R], dict[str, Any]], Select[Any]]
) -> Select[Any]:
    """The look-up by these indexed fields (``find_statement``'s), selecting plain columns: built
    once per record type and set of fields, with bound parameters ``eq_<name>``."""
    statement = _read_statements.get((row_cls, names))
    if statement is None:
        bound: dict[str, Any] = {name: bindparam(f"eq_{name}") for name in names}
        columns: Select[Any] = find_statement(row_cls, bound).with_only_columns(*read_columns(row_cls))
        statement = _read_statements[(row_cls, names)] = columns
    return statement


def read_columns(row_cls: type[Any]) -> tuple[Any, ...]:
    """The columns ``read_version`` reads a version from, in its order."""
    return (
        row_cls.id,
        row_cls.version,
        row_cls.clinic_id,
        row_cls.recorded_at,
        row_cls.recorded_by,
        row_cls.reason,
        raw_of(row_cls.data),  # decoded only when not read before
    )


def read_rows(db: Session, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
    """``db.execute(statement, params).all()`` for a select of plain columns that reads no audit
    table, run on the session's connection after the session's autoflush: the same rows without
    the ORM's execution of the statement (about a third of a chart query's cost in SQLAlchemy;
    the session's only hook on executions concerns reads of the audit log)."""
    if db.autoflush:
        db.flush()
    return db.connection().execute(statement, params).all()


def read_found(
    db: Session, statement: Select[Any], equal: dict[str, Any], schema: type[T], record_type: str
) -> list[Stored[T]]:
    """Run a ``read_statement`` for these values; each version found read as ``schema``."""
    found = db.execute(statement, {f"eq_{name}": value for name, value in equal.items()}).all()
    return [read_version(schema, record_type, r) for r in found]


# Versions read as their schemas, by (schema, record type, id, version, clinic, recorded at): shared by the
# requests of a process (worker threads, hence the lock); the least recently used go first.
# A few dozen charts' worth (a chart holds about 40 versions): a chart opened again, as after each
# save, is read from here but for what changed. Not more: every version kept is about 11 objects
# the garbage collector walks in each full collection, which stops every request meanwhile
# (11,500 versions kept, 51 MB, doubled a full collection's time).
_read_statements: dict[tuple[type[Any], tuple[str, ...]], Select[Any]] = {}  # see record_lookups
_VERSIONS_KEPT = 2_000
_versions_read: OrderedDict[tuple[type[Any], str, str, int, str, Any], Any] = OrderedDict()
_versions_lock = threading.Lock()


def read_version(schema: type[T], record_type: str, found: Any) -> Stored[T]:
    """One version from its columns (id, version, clinic, recorded at and by, reason, data)."""
    record_id, version, clinic_id, recorded_at, recorded_by, reason, raw = found
    # the time it was recorded too: two registries in one process (a test's, a restored one) may
    # hold the same id and version with other content; never at the same microsecond
    key = (schema, record_type, record_id, version, clinic_id, recorded_at)
    with _versions_lock:
        kept = _versions_read.get(key)
        if kept is not None:
            _versions_read.move_to_end(key)
            return kept  # type: ignore[no-any-return]
    read: Stored[T] = stored_version(
        id=record_id,
        version=version,
        clinic_id=clinic_id,
        withdrawn=False,
        recorded_at=recorded_at,
        recorded_by=recorded_by,
        reason=reason,
        data=validated(schema, unpack(raw)),  # (SQLite: packed, storage.record_json)
    )
    with _versions_lock:
        _versions_read[key] = read
        if len(_versions_read) > _VERSIONS_KEPT:
            _versions_read.popitem(last=False)
    return read


def validated(schema: type[T], raw: Any) -> T:
    """Stored content read as its schema: as to_read, it was validated when saved (no input
    bounds). SQLite's JSON text is validated as JSON by pydantic itself, without first making
    Python objects of it (about a sixth less CPU for a chart's versions read for the first
    time; the same values: every chart of a 2,000-patient demo is byte for byte the same JSON).
    What it refuses is read the Python way, so a refusal is that way's."""
    stored = {"stored": True}
    if isinstance(raw, str | bytes):
        try:
            return schema.model_validate_json(raw, strict=False, context=stored)
        except ValidationError:
            pass
    return schema.model_validate(decoded(raw), strict=False, context=stored)


def decoded(raw: Any) -> Any:
    """The stored JSON as Python (SQLite gives its text; PostgreSQL's driver decodes it itself)."""
    if not isinstance(raw, str | bytes):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # what the json module writes and orjson refuses (NaN)
        return json.loads(raw)
