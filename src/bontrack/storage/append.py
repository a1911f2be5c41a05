"""Appending a record version: the one path every new version takes, through the unit of work's
writer (bontrack.storage.unit), whichever it is. No row is ever updated or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bontrack.storage.times import utcnow
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import R


def append_version(
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
    """Write version ``version`` of a record (its indexed columns copied from ``data``)."""
    values: dict[str, Any] = {
        "id": record_id,
        "version": version,
        "clinic_id": clinic_id,
        "withdrawn": withdrawn,
        "recorded_at": utcnow(),
        "recorded_by": str(actor),  # the name alone (an Actor also carries its role and clinic)
        "reason": reason,
        "data": data,
    }
    for name in row_cls.index_fields:
        values[name] = data.get(name)
    return writer_of(db).append(db, row_cls, values)
