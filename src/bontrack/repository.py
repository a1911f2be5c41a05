"""The generic repository of one record kind: its current version, a patient's current records,
its history, its correction, its withdrawal, read as the kind's stored schema.

Every domain service had written these bodies again for each of its record types; the services
now keep only their own rules (what a create checks, what a correction may change) and hand the
rest (and the writing of a create) to ``Repository.of(KIND)``. Scoping by the ``Actor`` and auditing stay in
``bontrack.records`` (an actor sees its clinic's records only; another clinic's record is not
found, as a missing one); the withdrawal rule in ``bontrack.corrections``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Generic

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bontrack import corrections, record_reads, records
from bontrack.record_kind import RecordKind
from bontrack.records import R, Stored, T
from bontrack.records import expecting as expecting  # the faces' expected version (optimistic concurrency)


@dataclass(frozen=True)
class Repository(Generic[R, T]):
    """Reads, corrections and withdrawals of the records stored in ``row``, read as ``schema``."""

    row: type[R]
    schema: type[T]
    dated_by: str | None = None  # the data field a patient's records are ordered by
    patient_field: str | None = "patient_id"

    @classmethod
    def of(cls, kind: RecordKind[R, T]) -> Repository[R, T]:
        """The repository of a record kind."""
        return Repository(kind.row, kind.schema, kind.dated_by, kind.patient_field)

    def create_row(
        self, db: Session, actor: str, data: BaseModel, clinic_id: str, *, record_id: str | None = None
    ) -> R:
        """Save version 1 of a new record (audited; in a clinic the actor sees, else not found)."""
        return records.create(
            db, row_cls=self.row, data=data, clinic_id=clinic_id, actor=actor, record_id=record_id
        )

    def create(
        self, db: Session, actor: str, data: BaseModel, clinic_id: str, *, record_id: str | None = None
    ) -> Stored[T]:
        """``create_row``, read as the schema."""
        return records.to_read(self.create_row(db, actor, data, clinic_id, record_id=record_id), self.schema)

    def get(self, db: Session, actor: str, record_id: str, *, field: str = "id") -> Stored[T]:
        """The current version (audited; withdrawn, unknown or of another clinic: not found)."""
        row = records.get(db, row_cls=self.row, record_id=record_id, actor=actor, field=field)
        return records.to_read(row, self.schema)

    def many(self, db: Session, actor: str, record_ids: list[str]) -> dict[str, Stored[T]]:
        """The current versions of several records by id, in a few queries, not one a record
        (each audited as read; withdrawn, unknown or of another clinic: left out)."""
        rows = records.get_many(db, row_cls=self.row, record_ids=record_ids, actor=actor)
        return {record_id: records.to_read(row, self.schema) for record_id, row in rows.items()}

    def read(self, db: Session, actor: str, record_id: str, *, field: str = "id") -> Stored[T]:
        """``get``: the same version, errors and audit entry, read as plain columns (a version
        read before handed out again; ``record_reads.get_read``)."""
        return record_reads.get_read(
            db, row_cls=self.row, schema=self.schema, record_id=record_id, actor=actor, field=field
        )

    def current_row(self, db: Session, actor: str, record_id: str, *, purpose: str | None = None) -> R:
        """The current version as stored (audited; withdrawn, unknown or of another clinic: not found)."""
        return records.get(db, row_cls=self.row, record_id=record_id, actor=actor, purpose=purpose)

    def versions(self, db: Session, actor: str, record_id: str) -> list[R]:
        """Every version as stored, oldest first, withdrawn ones included (audited)."""
        return list(records.history(db, row_cls=self.row, record_id=record_id, actor=actor))

    def history(self, db: Session, actor: str, record_id: str) -> list[Stored[T]]:
        """Every version, oldest first, withdrawn ones included (audited)."""
        rows = records.history(db, row_cls=self.row, record_id=record_id, actor=actor)
        return [records.to_read(r, self.schema) for r in rows]

    def withdraw(self, db: Session, actor: str, record_id: str, reason: str) -> Stored[T]:
        """Withdraw the record (refused while current records refer to it: bontrack.corrections)."""
        row = corrections.withdraw(db, row_cls=self.row, record_id=record_id, actor=actor, reason=reason)
        return records.to_read(row, self.schema)

    def correct_row(
        self,
        db: Session,
        actor: str,
        record_id: str,
        data: BaseModel,
        reason: str,
        *,
        check: Callable[[R], object] | None = None,
    ) -> R:
        """Save a correction as the next version: the reason is required, the record is current
        (audited as read for the correction), the actor's role may record it as it stands and as
        corrected (bontrack.corrections.check_rewriter), it stays with its patient, and ``check`` (the
        kind's own rules, given the current version) passes; when ``check`` returns a model, that
        is stored instead of ``data`` (e.g. the answers scored again)."""
        corrections.check_reason(reason, "corrected")
        current = corrections.current(db, row_cls=self.row, record_id=record_id, actor=actor)
        corrections.check_rewriter(actor, current, "update", data)
        if self.patient_field is not None:
            corrections.same_patient(
                str(getattr(data, self.patient_field)),
                str(current.data[self.patient_field]),
                self.row.record_type,
            )
        checked = check(current) if check is not None else None
        return records.update(
            db,
            row_cls=self.row,
            record_id=record_id,
            data=checked if isinstance(checked, BaseModel) else data,
            actor=actor,
            reason=reason,
            given=type(data).model_fields,  # (a session's decision, an outcome's scores: worked out)
        )

    def update(
        self,
        db: Session,
        actor: str,
        record_id: str,
        data: BaseModel,
        reason: str,
        *,
        check: Callable[[R], object] | None = None,
    ) -> Stored[T]:
        """``correct_row``, read as the schema."""
        row = self.correct_row(db, actor, record_id, data, reason, check=check)
        return records.to_read(row, self.schema)

    def current(
        self, db: Session, actor: str, *, purpose: str | None = None, **equal: Any
    ) -> list[Stored[T]]:
        """Current records whose indexed fields equal the given values (audited), oldest first."""
        return record_reads.find_current_read(
            db, row_cls=self.row, schema=self.schema, actor=actor, purpose=purpose, **equal
        )

    def of_patient(self, db: Session, actor: str, patient_id: str) -> list[Stored[T]]:
        """A patient's current records (audited), by ``dated_by`` and then by when recorded."""
        found = self.current(db, actor, **{str(self.patient_field): patient_id})
        if self.dated_by is None:
            return found
        field = self.dated_by
        return sorted(found, key=lambda s: (getattr(s.data, field), s.recorded_at))

    def withdrawn_of_patient(
        self, db: Session, actor: str, patient_id: str, ids: Collection[str] | None = None
    ) -> list[Stored[T]]:
        """A patient's records whose newest version is withdrawn (audited as reads); ``ids``:
        only those of these ids (the others not read)."""
        rows = corrections.withdrawn_of_patient(
            db, row_cls=self.row, actor=actor, patient_id=patient_id, ids=ids
        )
        return [records.to_read(r, self.schema) for r in rows]


def correct(
    kind: RecordKind[Any, Any],
    db: Session,
    actor: str,
    record_id: str,
    data: BaseModel,
    reason: str,
    **extra: Any,
) -> Any:
    """Correct a record of any kind through its service (which checks it as when created)."""
    return kind.updater()(db=db, actor=actor, data=data, reason=reason, **{kind.id_param: record_id}, **extra)


def withdraw_record(kind: RecordKind[Any, Any], db: Session, actor: str, record_id: str, reason: str) -> Any:
    """Withdraw a record of any kind: through its service when it has one (an injection session's
    vial openings are withdrawn with it, in the same transaction), else the generic withdrawal."""
    service = kind.withdrawer()
    if service is not None:
        return service(db=db, actor=actor, reason=reason, **{kind.id_param: record_id})
    return Repository.of(kind).withdraw(db, actor, record_id, reason)
