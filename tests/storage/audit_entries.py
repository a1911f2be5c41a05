"""Audit entries the storage tests write: a user reading (or writing) one version of a record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.storage.audit_log import log


def entry(
    db: Session,
    actor: str,
    record_id: str,
    version: int = 1,
    *,
    clinic_id: str,
    action: str = "read",
    record_type: str = "patient",
) -> None:
    """One audit entry: ``actor`` did ``action`` to version ``version`` of a record."""
    log(
        db,
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        version=version,
        clinic_id=clinic_id,
    )
