"""Writing and reading the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.audit.models import ACTIONS, AuditEntry

_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("bontrack_clock", default=None)


def utcnow() -> datetime:
    """The clock used for recorded_at and audit times: naive UTC, microseconds kept."""
    clock = _clock.get()
    return clock() if clock is not None else datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def recorded_by_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, records and audit entries take their time from ``clock``.

    Only the synthetic clinic uses it: its records are dated when the story says they happened,
    so a demo is identical for a seed. Real records always carry the machine's time.
    """
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


def log(
    db: Session,
    *,
    actor: str,
    action: str,
    record_type: str | None = None,
    record_id: str | None = None,
    version: int | None = None,
    clinic_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEntry | None:
    """Append one audit entry (inside a bulk block it is inserted when the block ends: None)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if not actor.strip():
        raise ValueError("audit actor must be non-empty")
    from bontrack.bulk import active

    writer = active(db)
    if writer is not None:
        if action == "read" and (actor, record_id, version, detail) in writer.reads_seen:
            return None  # audited once per block (see bontrack.bulk); skip building the entry
        writer.add_audit(
            {
                "at": utcnow(),
                "actor": actor,
                "action": action,
                "record_type": record_type,
                "record_id": record_id,
                "version": version,
                "clinic_id": clinic_id,
                "before": before,
                "after": after,
                "detail": detail,
            }
        )
        return None
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        version=version,
        clinic_id=clinic_id,
        before=before,
        after=after,
        detail=detail,
    )
    db.add(entry)
    return entry


def entries(db: Session, *, record_id: str | None = None, action: str | None = None) -> Sequence[AuditEntry]:
    """Audit entries in the order written, optionally for one record or one action."""
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    from bontrack.bulk import write_out_pending

    write_out_pending(db)
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
    db.flush()
    total = int(db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    return total, db.scalars(query).all()
