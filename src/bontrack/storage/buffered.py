"""The buffered writer, every unit of work's own: each record version is written at once (added
and flushed), and the audit entries are held and written together with what they record.

Entries are appended to the session's transaction, not inserted one by one: the writer keeps them
(in order), and they are inserted together (packed: bontrack.storage.audit_packs) when the
transaction commits, or earlier when something reads the audit log through the session. They are
part of the same transaction as what they record: a transaction that rolls back keeps none of them, and a
savepoint that rolls back (``Session.begin_nested``) drops those made inside it. A unit of work
that reads a patient's chart (dozens of records, each audited) so costs one INSERT, not dozens.

The session events that do this (``EVENTS``) are registered on ``bontrack.storage.unit.UnitOfWork``
only, never on SQLAlchemy's global ``Session``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from bontrack.audit.models import AuditEntry
from bontrack.storage.audit_packs import insert_entries
from bontrack.storage.derived import note
from bontrack.storage.times import utcnow
from bontrack.storage.versioned import R

KEY = "bontrack.buffered_writer"


class BufferedWriter:
    """Writes record versions at once and holds audit entries until the transaction commits."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []  # audit entries not yet inserted, in order
        self.savepoints: list[tuple[int, int]] = []  # open savepoints: (id, entries pending when begun)
        self.ended: tuple[int, int] | None = None  # the savepoint that just ended (for its rollback)

    # ---- the writer interface (bontrack.storage.unit.Writer) ----
    def append(self, db: Session, cls: type[R], values: dict[str, Any]) -> R:
        row = cls(**values)
        note(db, getattr(cls, "__tablename__"), (values,))  # noqa: B009  (R: any record row)
        if values["version"] == 1:
            db.add(row)
            db.flush()
            return row
        # a later version in a savepoint: when another writer added it first (the primary key),
        # the insert fails alone and the unit can still read who did (bontrack.records)
        with db.begin_nested():
            db.add(row)
            db.flush()
        return row

    def audit(
        self,
        db: Session,
        *,
        actor: str,
        action: str,
        record_type: str | None,
        record_id: str | None,
        version: int | None,
        clinic_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        detail: str | None,
        outcome: str,
    ) -> None:
        self.pending.append(
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

    def flush(self, db: Session) -> None:
        """Nothing to do: every version is in the database already (audit entries wait, above)."""

    def held(self, cls: type[R], record_id: str) -> R | None:
        return None  # the database has every version

    def find(self, cls: type[R], equal: dict[str, Any], from_database: Callable[[], list[R]]) -> list[R]:
        return from_database()

    def held_audit(self) -> list[dict[str, Any]]:
        return list(self.pending)

    # ---- the audit entries it holds ----
    def write_audit(self, db: Session) -> int:
        """Insert the entries held (in the order made); returns how many.

        Inside a savepoint only the entries made inside it are inserted (its rollback undoes them
        in the database); earlier ones wait for the commit, so that rollback cannot take them along.
        """
        if not self.pending:
            return 0
        since = self.savepoints[-1][1] if self.savepoints else 0
        rows = self.pending[since:]
        del self.pending[since:]
        insert_entries(db, rows)
        return len(rows)

    def clear(self) -> None:
        self.pending.clear()
        self.savepoints.clear()
        self.ended = None


def buffered_of(db: Session) -> BufferedWriter:
    """The session's buffered writer (made on first use)."""
    writer = db.info.get(KEY)
    if writer is None:
        writer = db.info[KEY] = BufferedWriter()
    return cast(BufferedWriter, writer)


def _held(session: Session) -> BufferedWriter | None:
    writer = session.info.get(KEY)
    return cast(BufferedWriter, writer) if writer is not None else None


def write_before_commit(session: Session) -> None:
    writer = _held(session)
    if writer is not None and not session.in_nested_transaction():  # a savepoint's release: wait
        writer.write_audit(session)


def write_before_reading_audit(state: ORMExecuteState) -> None:
    """A read of the audit log through the session sees the entries not yet inserted."""
    writer = _held(state.session)
    if writer is not None and writer.pending and state.is_select:
        # what the columns and select_from() name; cheap (get_final_froms would compile it)
        statement = state.statement
        froms = (*getattr(statement, "columns_clause_froms", ()), *getattr(statement, "_from_obj", ()))
        if any(getattr(f, "name", None) == AuditEntry.__tablename__ for f in froms):
            writer.write_audit(state.session)


def mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        writer = buffered_of(session)
        writer.savepoints.append((id(transaction), len(writer.pending)))


def end_transaction(session: Session, transaction: SessionTransaction) -> None:
    writer = _held(session)
    if writer is None:
        return
    if transaction.nested:
        savepoints = writer.savepoints
        for i in range(len(savepoints) - 1, -1, -1):
            if savepoints[i][0] == id(transaction):
                writer.ended = savepoints.pop(i)  # kept for after_soft_rollback, which comes next
                break
    elif transaction.parent is None:
        # committed (written) or rolled back: nothing carries over to the next transaction
        writer.clear()


def drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A savepoint rolled back drops the entries made inside it; the whole transaction, all."""
    writer = _held(session)
    if writer is None:
        return
    if previous_transaction.nested:
        ended, writer.ended = writer.ended, None
        if ended is not None and ended[0] == id(previous_transaction):
            del writer.pending[ended[1] :]
    else:
        writer.pending.clear()


EVENTS: tuple[tuple[str, Callable[..., None]], ...] = (  # event name, listener
    ("before_commit", write_before_commit),
    ("do_orm_execute", write_before_reading_audit),
    ("after_transaction_create", mark_savepoint),
    ("after_transaction_end", end_transaction),
    ("after_soft_rollback", drop_rolled_back),
)
