"""Versioned records: every record type is stored the same way, append-only.

A record has a stable ``id`` (UUID) and versions 1, 2, 3 ...; each version is one row holding
the validated content as JSON (``data``) plus a few indexed columns copied from it for look-ups.
An update inserts the next version; a withdrawal inserts a version marked ``withdrawn``. No row
is ever updated or deleted, so the whole history can be read back and exported. Two writers who
both try to add version n+1 collide on the primary key, and the second one fails: as a
``StaleError`` (409 on the web), as when a face's expected version (``expecting``: the version a
form was opened at, an API client's If-Match) is no longer the current one.

Every version is written by ``storage.append.append_version`` through the unit of work's writer
(buffered, or bulk inside a bulk block): nothing here asks which one it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bontrack.actor import clinic_of
from bontrack.errors import (
    FieldError,
    InputError,
    NotFoundError,
    StaleError,
    WithdrawnError,
    not_found_message,
    require_reason,
)
from bontrack.record_lookups import all_versions as all_versions
from bontrack.record_lookups import audit_read
from bontrack.record_lookups import find_current as find_current
from bontrack.record_lookups import find_statement as find_statement
from bontrack.record_lookups import get_many as get_many
from bontrack.record_lookups import page_current as page_current
from bontrack.record_lookups import scope as scope
from bontrack.storage.append import append_version
from bontrack.storage.audit_log import Attempt, log, mark_denied
from bontrack.storage.caseless import Caseless as Caseless

# re-exported: the services import them from here
from bontrack.storage.ids import ids_from as ids_from
from bontrack.storage.ids import new_id as new_id
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import R as R
from bontrack.storage.versioned import Stored as Stored
from bontrack.storage.versioned import T as T
from bontrack.storage.versioned import VersionedRow as VersionedRow
from bontrack.storage.versioned import newest_versions
from bontrack.storage.versioned import snapshot_of as snapshot_of
from bontrack.storage.versioned import to_read as to_read

# The row mixin, the read envelope and record ids live in bontrack.storage (which imports nothing
# of ours that writes); they are re-exported here for the modules that import them from records.
# So are the look-ups over many records (bontrack.record_lookups): the services call them as
# ``records.find_current``, ``records.get_many`` and so on.


def latest(db: Session, row_cls: type[R], record_id: str) -> R | None:
    """The newest version of a record, withdrawn or not (no audit: callers audit)."""
    held = writer_of(db).held(row_cls, record_id)
    if held is not None:
        return held
    statement = _latest_statements.get(row_cls)
    if statement is None:
        among = row_cls.id == bindparam("record_id")
        statement = _latest_statements[row_cls] = newest_versions(row_cls, among=among, withdrawn=None)
    return db.scalars(statement, {"record_id": record_id}).first()


_latest_statements: dict[type[Any], Select[Any]] = {}  # built once per record type (see record_lookups)


def create(
    db: Session,
    *,
    row_cls: type[R],
    data: BaseModel,
    clinic_id: str,
    actor: str,
    record_id: str | None = None,
) -> R:
    """Save version 1 of a new record and audit it (in a clinic the actor sees: else not found)."""
    if clinic_of(actor) not in (None, clinic_id):
        raise NotFoundError.one("clinic_id", not_found_message("clinic", clinic_id))
    row = append_version(
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
        # no copy of the version: the entry names it (bontrack.audit.service reads it back)
    )
    return row


def hidden(actor: str, row: VersionedRow, field: str) -> NotFoundError | None:
    """The not-found error for a record of a clinic ``actor`` does not see (marked as a denied
    attempt for the face to audit), in the very words a missing record gets; None if visible."""
    return hidden_by_id(actor, row.record_type, row.id, row.clinic_id, field)


def hidden_by_id(
    actor: str, record_type: str, record_id: str, clinic_id: str, field: str
) -> NotFoundError | None:
    """``hidden`` for a record known by its type, id and clinic."""
    scope = clinic_of(actor)
    if scope is None or clinic_id == scope:
        return None
    attempt = Attempt(
        str(actor),
        record_type=record_type,
        record_id=record_id,
        clinic_id=clinic_id,
        detail="a record of another clinic",
    )
    error = NotFoundError([FieldError(field, not_found_message(record_type, record_id))])
    return mark_denied(error, attempt)


def _current_or_raise(db: Session, row_cls: type[R], record_id: str, field: str, actor: str) -> R:
    row = latest(db, row_cls, record_id)
    if row is None:
        raise NotFoundError.one(field, not_found_message(row_cls.record_type, record_id))
    error = hidden(actor, row, field)
    if error is not None:
        raise error
    if row.withdrawn:
        raise WithdrawnError(field, row_cls.record_type, record_id, row.clinic_id)
    return row


NOTHING_CHANGED = (
    "Nothing was changed; change at least one field before saving a correction (the record is kept as it is)"
)


def update(
    db: Session,
    *,
    row_cls: type[R],
    record_id: str,
    data: BaseModel,
    actor: str,
    reason: str,
    given: Collection[str] | None = None,
) -> R:
    """Save a corrected version; the previous one stays readable in the history. A correction
    that changes none of the fields given (``given``: the input's fields, where what is stored
    adds what the program works out, such as a session's decision; else all) is refused:
    InputError, nothing written."""
    require_reason(reason, "corrected")
    before = _current_or_raise(db, row_cls, record_id, "id", actor)
    after = data.model_dump(mode="json")
    stored = before.data
    if all(after.get(name) == stored.get(name) for name in (after if given is None else given)):
        raise InputError.one("(document)", NOTHING_CHANGED)
    return _next_version(db, before, after, actor, reason, withdrawn=False)


def withdraw(db: Session, *, row_cls: type[R], record_id: str, actor: str, reason: str) -> R:
    """Mark a record withdrawn (a new version); nothing is deleted."""
    require_reason(reason, "withdrawn")
    before = _current_or_raise(db, row_cls, record_id, "id", actor)
    return _next_version(db, before, before.data, actor, reason, withdrawn=True)


_EXPECTED = "bontrack.expected_versions"  # db.info: record id -> the version a face expects current


@contextmanager
def expecting(db: Session, record_id: str, version: int | None) -> Iterator[None]:
    """Within the block, the next correction or withdrawal of ``record_id`` is saved only if
    ``version`` is still its current version, else ``StaleError`` and nothing of it is written
    (None: no check). The compare and the insert of the next version are in one transaction, and
    a writer that inserted the same next version first makes the insert fail on the primary key:
    the same ``StaleError``. The faces use it for the version a form was opened at, or an API
    client's If-Match; the services are unchanged (a session's vial openings, written with it,
    are not checked)."""
    if version is None:
        yield
        return
    expected: dict[str, int] = db.info.setdefault(_EXPECTED, {})
    expected[record_id] = version
    try:
        yield
    finally:
        expected.pop(record_id, None)


def stale(row: VersionedRow, expected: int | None) -> StaleError:
    """The refusal of a change made from ``expected`` when ``row`` is the current version, in words
    for people: who saved the current version and when."""
    what = row.record_type.replace("_", " ")
    if expected is not None and expected > row.version:
        message = (
            f"This {what} has no version {expected} (its current version is {row.version}); "
            "your changes were not saved. Open it again to see the current version."
        )
    else:
        who = row.recorded_by.removeprefix("user:")
        when = row.recorded_at.strftime("%Y-%m-%d %H:%M UTC")
        done = "withdrawn" if row.withdrawn else "changed"
        message = (
            f"This {what} was {done} by {who} at {when} since you opened it; your changes were "
            "not saved. Open it again to see the current version."
        )
    return StaleError(message, row.version)


def _next_version(
    db: Session, before: R, data: dict[str, Any], actor: str, reason: str, *, withdrawn: bool
) -> R:
    """Append version n+1 of ``before`` and audit it as an update or a withdrawal (refused with
    StaleError when the face expected another version, or another writer added n+1 first)."""
    expected = db.info.get(_EXPECTED, {}).pop(before.id, None)  # checked once, at the first change
    if expected is not None and expected != before.version:
        raise stale(before, expected)
    try:
        row = append_version(
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
    except IntegrityError:
        # the writer wrote version n+1 in a savepoint, rolled back: the winner can be read
        winner = latest(db, type(before), before.id)
        if winner is None or winner.version <= before.version:
            raise
        raise stale(winner, before.version) from None
    log(
        db,
        actor=actor,
        action="withdraw" if withdrawn else "update",
        record_type=row.record_type,
        record_id=before.id,
        version=row.version,
        clinic_id=row.clinic_id,
        detail=reason,  # the versions before and after are named, not copied (see create)
    )
    return row


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
    row = _current_or_raise(db, row_cls, record_id, field, actor)
    audit_read(db, [row], actor, purpose)
    return row


def history(db: Session, *, row_cls: type[R], record_id: str, actor: str) -> list[R]:
    """Every version of a record, oldest first, withdrawn ones included; audited as reads."""
    writer_of(db).flush(db)
    rows = list(db.scalars(select(row_cls).where(row_cls.id == record_id).order_by(row_cls.version)))
    if not rows:
        raise NotFoundError.one("id", not_found_message(row_cls.record_type, record_id))
    error = hidden(actor, rows[-1], "id")
    if error is not None:
        raise error
    audit_read(db, rows, actor, "history")
    return rows
