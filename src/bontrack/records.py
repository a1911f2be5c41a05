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

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Select,
    bindparam,
    func,
    or_,
    select,
)
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
from bontrack.storage.append import append_version
from bontrack.storage.audit_log import Attempt, log, mark_denied
from bontrack.storage.caseless import Caseless as Caseless

# re-exported: the services import them from here
from bontrack.storage.ids import ids_from as ids_from
from bontrack.storage.ids import new_id as new_id
from bontrack.storage.record_json import json_of
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


_latest_statements: dict[type[Any], Select[Any]] = {}  # built once per record type (see _find_statements)


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
    row = _current_or_raise(db, row_cls, record_id, field, actor)
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
    writer = writer_of(db)
    asked: list[str] = []  # ids the writer holds no version of (a bulk block holds its own)
    for record_id in wanted:
        held = writer.held(row_cls, record_id)
        if held is None:
            asked.append(record_id)
        elif not held.withdrawn:
            found[record_id] = held
    for start in range(0, len(asked), _IDS_PER_QUERY):
        chunk = asked[start : start + _IDS_PER_QUERY]
        found.update((row.id, row) for row in db.scalars(_many_statement(row_cls), {"record_ids": chunk}))
    scope = clinic_of(actor)
    rows = [found[i] for i in wanted if i in found and scope in (None, found[i].clinic_id)]
    _audit_read(db, rows, actor, purpose)
    return {row.id: row for row in rows}


_IDS_PER_QUERY = 500  # well under every engine's limit of bound parameters
# get_many's statement, built once per record type (the ids bound when it runs, as an IN list):
# building it (the newest-version subquery) cost more than running it for a page's few dozen ids
_many_statements: dict[type[Any], Select[Any]] = {}


def _many_statement(row_cls: type[R]) -> Select[R]:
    """The current versions of the records whose ids are bound as ``record_ids``."""
    statement = _many_statements.get(row_cls)
    if statement is None:
        among = row_cls.id.in_(bindparam("record_ids", expanding=True))
        statement = _many_statements[row_cls] = newest_versions(row_cls, among=among)
    return statement


def history(db: Session, *, row_cls: type[R], record_id: str, actor: str) -> list[R]:
    """Every version of a record, oldest first, withdrawn ones included; audited as reads."""
    writer_of(db).flush(db)
    rows = list(db.scalars(select(row_cls).where(row_cls.id == record_id).order_by(row_cls.version)))
    if not rows:
        raise NotFoundError.one("id", not_found_message(row_cls.record_type, record_id))
    error = hidden(actor, rows[-1], "id")
    if error is not None:
        raise error
    _audit_read(db, rows, actor, "history")
    return rows


def find_current(
    db: Session, *, row_cls: type[R], actor: str, purpose: str | None = None, **equal: Any
) -> list[R]:
    """Current, non-withdrawn versions whose indexed columns equal the given values (a value
    ``Caseless(text)``: whatever the case of its letters); audited."""
    for name in equal:
        if name != "clinic_id" and name not in row_cls.index_fields:
            raise ValueError(f"{row_cls.record_type} has no indexed field {name!r}")
    if not scope(actor, equal):
        return []
    rows = writer_of(db).find(row_cls, equal, lambda: _find_in_database(db, row_cls, equal))
    _audit_read(db, rows, actor, purpose)
    return rows


def scope(actor: str, equal: dict[str, Any]) -> bool:
    """Limit a look-up to the actor's clinic (in place); False if it asks for another clinic."""
    scope = clinic_of(actor)
    if scope is None:
        return True
    return bool(equal.setdefault("clinic_id", scope) == scope)


def _find_in_database(db: Session, row_cls: type[R], equal: dict[str, Any]) -> list[R]:
    if any(value is None or isinstance(value, Caseless) for value in equal.values()):
        return list(db.scalars(find_statement(row_cls, equal)))  # built for the values at hand
    statement = _find_statements.get((row_cls, tuple(equal)))
    if statement is None:
        names: dict[str, Any] = {name: bindparam(f"eq_{name}") for name in equal}
        statement = _find_statements[(row_cls, tuple(equal))] = find_statement(row_cls, names)
    return list(db.scalars(statement, {f"eq_{name}": value for name, value in equal.items()}))


# The look-up statement of each record type and set of fields, built once with bound parameters:
# building it anew for every call cost more than running it (the chart makes eight per request).
_find_statements: dict[tuple[type[Any], tuple[str, ...]], Select[Any]] = {}


def find_statement(row_cls: type[R], equal: dict[str, Any]) -> Select[Any]:
    conditions = [
        value.condition(getattr(row_cls, name))
        if isinstance(value, Caseless)
        else getattr(row_cls, name) == value
        for name, value in equal.items()
    ]
    # Narrow to records that ever matched (indexed), take their newest version, then check that
    # the newest still matches (a correction may have changed the field).
    candidates = select(row_cls.id).where(*conditions)
    query = newest_versions(row_cls, among=row_cls.id.in_(candidates)).where(*conditions)
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
    if not scope(actor, equal):
        return 0, []
    writer_of(db).flush(db)
    conditions = [getattr(row_cls, name) == value for name, value in equal.items()]
    # narrow to records that ever matched; the newest version must still match
    among = row_cls.id.in_(select(row_cls.id).where(*conditions)) if conditions else None
    current = newest_versions(row_cls, among=among).where(*conditions)
    if containing is not None:
        text, fields = containing
        needle = text.strip().lower()
        current = current.where(
            or_(
                *(
                    func.lower(json_of(row_cls.data)[f].as_string()).contains(needle, autoescape=True)
                    for f in fields
                )
            )
        )
    total = int(db.scalar(select(func.count()).select_from(current.subquery())) or 0)
    rows = list(db.scalars(current.order_by(row_cls.recorded_at, row_cls.id).limit(limit).offset(offset)))
    _audit_read(db, rows, actor, purpose)
    return total, rows


def all_versions(db: Session, row_cls: type[R]) -> list[R]:
    """Every row of a record type in a stable order (for export; the caller audits)."""
    writer_of(db).flush(db)
    return list(db.scalars(select(row_cls).order_by(row_cls.id, row_cls.version)))
