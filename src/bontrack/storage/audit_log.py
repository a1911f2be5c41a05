"""Writing the audit trail, in the unit of work it records.

``log`` checks an entry and hands it to the unit of work's writer (bontrack.storage.unit): the
buffered writer inserts a transaction's entries together when it commits, the bulk writer at
the end of its block; either way in the same transaction as what they record. Reading and
querying the log is bontrack.audit's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bontrack.audit.models import ACTIONS, OUTCOMES
from bontrack.storage.audit_packs import insert_entries as insert_packed
from bontrack.storage.buffered import buffered_of
from bontrack.storage.times import utcnow
from bontrack.storage.unit import writer_of


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
    """Append one audit entry to the unit of work (written with what it records; see above)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if not actor.strip():
        raise ValueError("audit actor must be non-empty")
    actor = str(actor)  # the name alone (an Actor also carries its role and clinic)
    writer_of(db).audit(
        db,
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        version=version,
        clinic_id=clinic_id,
        before=before,
        after=after,
        detail=detail,
        outcome=outcome,
    )


def write_held(db: Session) -> None:
    """Insert every version and audit entry the unit of work holds (before reading the log)."""
    writer_of(db).flush(db)
    buffered_of(db).write_audit(db)


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
    buffered = buffered_of(db)
    pending = buffered.held_audit()
    writer = writer_of(db)
    if writer is not buffered:
        pending += writer.held_audit()
    return [{**e, "outcome": "failed"} for e in pending if e["action"] == "read"]


def take_reads(db: Session) -> list[dict[str, Any]]:
    """The entries the unit of work holds, taken out so it will not insert them, when every one
    is a read and no savepoint or bulk block is open; else none (they stay, written with it).
    For a caller that writes them itself, durably, before answering (bontrack.web.read_audits)."""
    buffered = buffered_of(db)
    pending = buffered.pending
    if writer_of(db) is not buffered or buffered.savepoints or not pending:
        return []
    if any(entry["action"] != "read" for entry in pending):
        return []
    taken = list(pending)
    pending.clear()
    return taken


def insert_entries(db: Session, rows: list[dict[str, Any]]) -> None:
    """Insert complete audit rows (made by denied_entry or pending_reads) as they are."""
    insert_packed(db, rows)


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
