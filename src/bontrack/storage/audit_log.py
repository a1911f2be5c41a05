"""Writing the audit trail, in the unit of work it records.

Entries are appended to the session's transaction, not inserted one by one: ``log`` keeps them in
the session (in order), and they are inserted together, one executemany, when the transaction
commits, or earlier when something reads the audit log through the session. They are part of the
same transaction as what they record: a transaction that rolls back keeps none of them, and a
savepoint that rolls back (``Session.begin_nested``) drops those made inside it. A unit of work
that reads a patient's chart (dozens of records, each audited) so costs one INSERT, not dozens.
The session events that do this are registered on ``bontrack.storage.unit.UnitOfWork`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from bontrack.audit.models import ACTIONS, OUTCOMES, AuditEntry
from bontrack.clock import utcnow as system_utcnow

PENDING = "bontrack.audit_pending"
_SAVEPOINTS = "bontrack.audit_savepoints"  # open savepoints: (id, entries pending when begun)
_ENDED = "bontrack.audit_savepoint_ended"
_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("bontrack_clock", default=None)


def utcnow() -> datetime:
    """The clock used for recorded_at and audit times: naive UTC, microseconds kept."""
    clock = _clock.get()
    return clock() if clock is not None else system_utcnow()


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
    outcome: str = "ok",
) -> None:
    """Append one audit entry to the session's transaction (inserted when it commits; see above)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if not actor.strip():
        raise ValueError("audit actor must be non-empty")
    actor = str(actor)  # the name alone (an Actor also carries its role and clinic)
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
                "outcome": outcome,
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
            "outcome": outcome,
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


def write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release: its entries wait for the commit
        write_pending(session)


def write_before_reading_audit(state: ORMExecuteState) -> None:
    """A read of the audit log through the session sees the entries not yet inserted."""
    if state.session.info.get(PENDING) and state.is_select:
        # what the columns and select_from() name; cheap (get_final_froms would compile it)
        statement = state.statement
        froms = (*getattr(statement, "columns_clause_froms", ()), *getattr(statement, "_from_obj", ()))
        if any(getattr(f, "name", None) == AuditEntry.__tablename__ for f in froms):
            write_pending(state.session)


def mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        pending = session.info.get(PENDING) or []
        session.info.setdefault(_SAVEPOINTS, []).append((id(transaction), len(pending)))


def end_transaction(session: Session, transaction: SessionTransaction) -> None:
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


def drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
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


LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (  # event name, listener
    ("before_commit", write_before_commit),
    ("do_orm_execute", write_before_reading_audit),
    ("after_transaction_create", mark_savepoint),
    ("after_transaction_end", end_transaction),
    ("after_soft_rollback", drop_rolled_back),
)


# ---- attempts that failed ----------------------------------------------------------------------
# A request's transaction rolls back when it fails, and its audit entries with it. Two kinds are
# kept, written after the rollback in a transaction of their own (bontrack.web.deps.get_db):
# a denied attempt (one entry, outcome "denied"), and the reads a failed request made (outcome
# "failed": its error message may have shown something it read).

DENIED_ATTRIBUTE = "bontrack_denied_attempt"


@dataclass(frozen=True)
class Attempt:
    """What a denied request tried: who, on which record; the face adds the action and path."""

    actor: str
    action: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    clinic_id: str | None = None
    detail: str | None = None


E = TypeVar("E", bound=BaseException)


def mark_denied(exc: E, attempt: Attempt) -> E:
    """Mark an exception as a denial to audit (the face writes the entry after the rollback)."""
    setattr(exc, DENIED_ATTRIBUTE, attempt)
    return exc


def denied_attempt(exc: BaseException) -> Attempt | None:
    found = getattr(exc, DENIED_ATTRIBUTE, None)
    return found if isinstance(found, Attempt) else None


def denied_entry(attempt: Attempt, *, action: str, detail: str) -> dict[str, Any]:
    """The audit row of a denied attempt (``action`` and ``detail`` when the attempt has none)."""
    chosen = attempt.action or action
    if chosen not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, got {chosen!r}")
    return {
        "at": utcnow(),
        "actor": attempt.actor,
        "action": chosen,
        "record_type": attempt.record_type,
        "record_id": attempt.record_id,
        "version": None,
        "clinic_id": attempt.clinic_id,
        "before": None,
        "after": None,
        "detail": "; ".join(d for d in (attempt.detail, detail) if d),
        "outcome": "denied",
    }


def pending_reads(db: Session) -> list[dict[str, Any]]:
    """The read entries the session holds, not yet inserted, marked as reads of a failed request
    (taken before a rollback drops them)."""
    from bontrack.bulk import active

    pending: list[dict[str, Any]] = list(db.info.get(PENDING) or [])
    writer = active(db)
    if writer is not None:
        pending += writer.audit
    return [{**e, "outcome": "failed"} for e in pending if e["action"] == "read"]


def insert_entries(db: Session, rows: list[dict[str, Any]]) -> None:
    """Insert complete audit rows (made by denied_entry or pending_reads) as they are."""
    from bontrack.bulk import insert_many

    insert_many(db, _audit_table(), rows)


def log_denied(db: Session, attempt: Attempt, *, action: str, detail: str) -> None:
    """Audit a denial in the session's own transaction (a refused log-in, which commits)."""
    entry = denied_entry(attempt, action=action, detail=detail)
    log(
        db,
        actor=entry["actor"],
        action=entry["action"],
        record_type=entry["record_type"],
        record_id=entry["record_id"],
        clinic_id=entry["clinic_id"],
        detail=entry["detail"],
        outcome="denied",
    )
