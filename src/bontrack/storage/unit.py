"""The unit of work: the session every transaction runs in (bontrack.storage.engine.transaction),
and the one interface its writers share.

A unit of work writes through a ``Writer``, chosen when it opens: the buffered writer
(bontrack.storage.buffered: each version at once, audit entries together at the commit) or the
bulk writer (bontrack.storage.bulk: versions and entries kept in memory and inserted in batches).
``bontrack.records`` and the audit log call the writer and never ask which one it is.

The session events of the buffered writer are registered on ``UnitOfWork`` only, never on
SQLAlchemy's global ``Session``: a session made elsewhere (a scratch database, a benchmark)
carries none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from bontrack.storage import derived
from bontrack.storage.buffered import EVENTS, buffered_of
from bontrack.storage.versioned import R

KEY = "bontrack.writer"


class Writer(Protocol):
    """How a unit of work writes record versions and audit entries."""

    def append(self, db: Session, cls: type[R], values: dict[str, Any]) -> R:
        """Write a new record version given as its column values; returns it as a row."""
        ...

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
        """Write an audit entry (checked by bontrack.storage.audit_log.log) with the unit of work."""
        ...

    def flush(self, db: Session) -> None:
        """Write out the versions held in memory, so a read of whole tables sees them."""
        ...

    def held(self, cls: type[R], record_id: str) -> R | None:
        """The newest version of a record written in this unit and held in memory (None: ask
        the database)."""
        ...

    def find(self, cls: type[R], equal: dict[str, Any], from_database: Callable[[], list[R]]) -> list[R]:
        """Current versions whose fields equal ``equal``: what it holds, and ``from_database()``."""
        ...

    def held_audit(self) -> list[dict[str, Any]]:
        """The audit entries made and not yet inserted, in order."""
        ...


def writer_of(db: Session) -> Writer:
    """The writer of the session's unit of work (the buffered one unless a bulk block is open)."""
    writer: Writer | None = db.info.get(KEY)
    if writer is None:
        writer = buffered_of(db)  # (typed: the buffered writer is a Writer)
        db.info[KEY] = writer
    return writer


def derived_up_to_date(db: Session) -> None:
    """Bring the derived tables up to date with what this unit of work wrote so far (before
    reading one): a bulk block's rows still held are written, and their patients noted."""
    writer_of(db).flush(db)
    derived.refresh(db)


def derived_rows(db: Session, table: Any, clinic_id: str | None) -> list[dict[str, Any]]:
    """The rows a derived table holds for a clinic (None: every clinic), up to date."""
    derived_up_to_date(db)
    query = table.select()
    if clinic_id is not None:
        query = query.where(table.c.clinic_id == clinic_id)
    return [dict(r._mapping) for r in db.execute(query)]


@contextmanager
def writing_with(db: Session, writer: Writer) -> Iterator[None]:
    """Within the block, the unit of work writes through ``writer`` (then through its own again)."""
    previous = db.info.get(KEY)
    db.info[KEY] = writer
    try:
        yield
    finally:
        if previous is None:
            db.info.pop(KEY, None)
        else:
            db.info[KEY] = previous


class UnitOfWork(Session):
    """A SQLAlchemy session that writes its audit entries in its own transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info[KEY] = buffered_of(self)


def refresh_derived(session: Session) -> None:
    """Before the commit: the derived tables (bontrack.storage.derived) recomputed for the patients
    the unit wrote (a bulk block's rows still held are written out first, and so noted)."""
    if not session.in_nested_transaction():  # a savepoint's release: the outer commit refreshes
        writer_of(session).flush(session)
        derived.refresh(session)


DERIVED_EVENTS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_commit", refresh_derived),
    ("after_transaction_end", derived.forget),
)
for _name, _listener in (*EVENTS, *DERIVED_EVENTS):
    event.listen(UnitOfWork, _name, _listener)
