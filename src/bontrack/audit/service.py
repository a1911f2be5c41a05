"""Writing and reading the audit trail.

Entries are appended to the session's transaction, not inserted one by one: ``log`` keeps them in
the session (in order), and they are inserted together, one executemany, when the transaction
commits, or earlier when something reads the audit log through the session. They are part of the
same transaction as what they record: a transaction that rolls back keeps none of them, and a
savepoint that rolls back (``Session.begin_nested``) drops those made inside it. A unit of work
that reads a patient's chart (dozens of records, each audited) so costs one INSERT, not dozens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from bontrack.audit.models import ACTIONS, AuditEntry

PENDING = "bontrack.audit_pending"
_SAVEPOINTS = "bontrack.audit_savepoints"  # open savepoints: (id, entries pending when begun)
_ENDED = "bontrack.audit_savepoint_ended"
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
) -> None:
    """Append one audit entry to the session's transaction (inserted when it commits; see above)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if not actor.strip():
        raise ValueError("audit actor must be non-empty")
    from bontrack.bulk import active

    writer = active(db)
    if writer is not None:
        if action == "read" and (actor, record_id, version, detail) in writer.reads_seen:
            return  # audited once per block (see bontrack.bulk); skip building the entry
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
        return
    pending: list[dict[str, Any]] | None = db.info.get(PENDING)
    if pending is None:
        pending = db.info[PENDING] = []
    pending.append(
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


def write_pending(db: Session) -> int:
    """Insert the entries the session holds (in the order made); returns how many.

    Inside a savepoint only the entries made inside it are inserted (its rollback undoes them in
    the database); earlier ones wait for the commit, so that rollback cannot take them along.
    """
    pending: list[dict[str, Any]] | None = db.info.get(PENDING)
    if not pending:
        return 0
    from bontrack.bulk import insert_many

    savepoints: list[tuple[int, int]] = db.info.get(_SAVEPOINTS) or []
    since = savepoints[-1][1] if savepoints else 0
    rows = pending[since:]
    del pending[since:]
    insert_many(db, _audit_table(), rows)
    return len(rows)


def _audit_table() -> Table:
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    return table


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release: its entries wait for the commit
        write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading_audit(state: ORMExecuteState) -> None:
    """A read of the audit log through the session sees the entries not yet inserted."""
    if state.session.info.get(PENDING) and state.is_select:
        # what the columns and select_from() name; cheap (get_final_froms would compile it)
        statement = state.statement
        froms = (*getattr(statement, "columns_clause_froms", ()), *getattr(statement, "_from_obj", ()))
        if any(getattr(f, "name", None) == AuditEntry.__tablename__ for f in froms):
            write_pending(state.session)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        pending = session.info.get(PENDING) or []
        session.info.setdefault(_SAVEPOINTS, []).append((id(transaction), len(pending)))


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        savepoints: list[tuple[int, int]] = session.info.get(_SAVEPOINTS) or []
        for i in range(len(savepoints) - 1, -1, -1):
            if savepoints[i][0] == id(transaction):
                # kept for after_soft_rollback, which comes after this event
                session.info[_ENDED] = savepoints.pop(i)
                break
    elif transaction.parent is None:
        # committed (written) or rolled back: nothing carries over to the next transaction
        for key in (PENDING, _SAVEPOINTS, _ENDED):
            session.info.pop(key, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A savepoint rolled back drops the entries made inside it; the whole transaction, all."""
    pending: list[dict[str, Any]] | None = session.info.get(PENDING)
    if pending is None:
        return
    if previous_transaction.nested:
        ended = session.info.pop(_ENDED, None)
        if ended is not None and ended[0] == id(previous_transaction):
            del pending[ended[1] :]
    else:
        pending.clear()


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
