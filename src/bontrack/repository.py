"""The generic repository of one versioned record type: its current version, its history, its
withdrawal and its current records by an indexed field, read as the type's schema.

Every domain service had written these bodies again for each of its record types; the services
now keep only their own rules (what a create checks, what a correction may change) and hand the
rest to a ``Repository``. Scoping, auditing and the shared withdrawal rule stay where they are:
``bontrack.records`` (an actor sees its clinic's records only) and ``bontrack.corrections``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy.orm import Session

from bontrack import corrections, records
from bontrack.records import R, Stored, T


@dataclass(frozen=True)
class Repository(Generic[R, T]):
    """Reads and withdrawals of the records stored in ``row``, read as ``schema``."""

    row: type[R]
    schema: type[T]

    def get(self, db: Session, actor: str, record_id: str, *, field: str = "id") -> Stored[T]:
        """The current version (audited; withdrawn, unknown or of another clinic: not found)."""
        row = records.get(db, row_cls=self.row, record_id=record_id, actor=actor, field=field)
        return records.to_read(row, self.schema)

    def history(self, db: Session, actor: str, record_id: str) -> list[Stored[T]]:
        """Every version, oldest first, withdrawn ones included (audited)."""
        rows = records.history(db, row_cls=self.row, record_id=record_id, actor=actor)
        return [records.to_read(r, self.schema) for r in rows]

    def withdraw(self, db: Session, actor: str, record_id: str, reason: str) -> Stored[T]:
        """Withdraw the record (refused while current records refer to it: bontrack.corrections)."""
        row = corrections.withdraw(db, row_cls=self.row, record_id=record_id, actor=actor, reason=reason)
        return records.to_read(row, self.schema)

    def current(
        self, db: Session, actor: str, *, purpose: str | None = None, **equal: Any
    ) -> list[Stored[T]]:
        """Current records whose indexed fields equal the given values (audited), oldest first."""
        rows = records.find_current(db, row_cls=self.row, actor=actor, purpose=purpose, **equal)
        return [records.to_read(r, self.schema) for r in rows]
