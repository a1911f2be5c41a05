"""Reading and querying the audit trail (writing it is storage's: bontrack.storage.audit_log)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.audit.models import AuditEntry
from bontrack.storage.audit_log import write_held


def entries(db: Session, *, record_id: str | None = None, action: str | None = None) -> Sequence[AuditEntry]:
    """Audit entries in the order written, optionally for one record or one action."""
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    write_held(db)
    db.flush()
    return db.scalars(query).all()


def page_entries(
    db: Session, *, limit: int, offset: int, record_id: str | None = None, actor: str | None = None
) -> tuple[int, Sequence[AuditEntry]]:
    """One page of audit entries, newest first, optionally of one record or one actor, and the total."""
    conditions = []
    if record_id is not None:
        conditions.append(AuditEntry.record_id == record_id)
    if actor is not None:
        conditions.append(AuditEntry.actor == actor)
    write_held(db)
    db.flush()
    total = int(db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    return total, db.scalars(query).all()
