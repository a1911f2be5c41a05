"""Reading and querying the audit trail (writing it is storage's: bontrack.storage.audit_log,
whose names are re-exported here for the modules that import them from this one)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.audit.models import AuditEntry
from bontrack.storage.audit_log import DENIED_ATTRIBUTE as DENIED_ATTRIBUTE
from bontrack.storage.audit_log import PENDING as PENDING
from bontrack.storage.audit_log import Attempt as Attempt
from bontrack.storage.audit_log import denied_attempt as denied_attempt
from bontrack.storage.audit_log import denied_entry as denied_entry
from bontrack.storage.audit_log import insert_entries as insert_entries
from bontrack.storage.audit_log import log as log
from bontrack.storage.audit_log import log_denied as log_denied
from bontrack.storage.audit_log import mark_denied as mark_denied
from bontrack.storage.audit_log import pending_reads as pending_reads
from bontrack.storage.audit_log import recorded_by_clock as recorded_by_clock
from bontrack.storage.audit_log import utcnow as utcnow
from bontrack.storage.audit_log import write_pending as write_pending


def entries(db: Session, *, record_id: str | None = None, action: str | None = None) -> Sequence[AuditEntry]:
    """Audit entries in the order written, optionally for one record or one action."""
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    from bontrack.bulk import write_out_pending

    write_out_pending(db)
    write_pending(db)
    db.flush()
    return db.scalars(query).all()


def page_entries(
    db: Session, *, limit: int, offset: int, record_id: str | None = None, actor: str | None = None
) -> tuple[int, Sequence[AuditEntry]]:
    """One page of audit entries, newest first, optionally of one record or one actor, and the total."""
    from sqlalchemy import func

    conditions = []
    if record_id is not None:
        conditions.append(AuditEntry.record_id == record_id)
    if actor is not None:
        conditions.append(AuditEntry.actor == actor)
    write_pending(db)
    db.flush()
    total = int(db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    return total, db.scalars(query).all()
