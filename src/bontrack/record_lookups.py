"""Look-ups over many records' current versions: by ids (``get_many``), by indexed fields
(``find_current``, whose statement ``find_statement`` builds), one page of them with a count
(``page_current``), and every version of a type for export (``all_versions``). Each reads the
newest non-withdrawn versions through the unit of work's writer (which holds versions not yet
written), limited to the actor's clinic (``scope``), and audits what it returns as read
(``audit_read``; the count of a page reveals no content).

Split from ``bontrack.records`` (the life of one record: create, correct, withdraw, read), which
re-exports these names: the services call them as ``records.find_current`` and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from bontrack.actor import clinic_of
from bontrack.storage.audit_log import log
from bontrack.storage.caseless import Caseless
from bontrack.storage.record_json import json_of
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import R, VersionedRow, newest_versions


def audit_read(db: Session, rows: Sequence[VersionedRow], actor: str, detail: str | None) -> None:
    """Audit each of ``rows`` as read by ``actor`` (``detail``: the purpose given, if any)."""
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
    audit_read(db, rows, actor, purpose)
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
    audit_read(db, rows, actor, purpose)
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
    audit_read(db, rows, actor, purpose)
    return total, rows


def all_versions(db: Session, row_cls: type[R]) -> list[R]:
    """Every row of a record type in a stable order (for export; the caller audits)."""
    writer_of(db).flush(db)
    return list(db.scalars(select(row_cls).order_by(row_cls.id, row_cls.version)))
