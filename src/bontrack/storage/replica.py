"""Reading from a read replica (a PostgreSQL hot standby), auditing on the primary.

Reports and research reads (`bontrack report`, the report page and API, the exports, the research
lists, the FHIR bulk export) may read their rows from a standby in streaming replication
(``--read-db URL`` / ``BONTRACK_READ_DATABASE_URL``), so the heavy reads leave the primary's CPU
and disk to the clinic's writes. Every read is still audited, and the audit log lives on the
primary: a read session here is a transaction on the standby whose audit entries go to a unit of
work on the primary (``AuditToPrimary``). The caller commits the primary's transaction after the
rows were read and before it hands them out, as for any read, so nothing read from the replica
leaves without its audit entry committed on the primary.

The read transaction is READ ONLY and REPEATABLE READ (one snapshot: a report's several queries
see the registry as of one instant) and is limited to the user's clinic like the primary's
(row-level security holds on the standby: it has the same policies). A standby replays the
primary a little behind (milliseconds when healthy): a report may not yet count a record saved a
moment ago. If the standby cannot be reached, the read goes to the primary (logged as a warning).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bontrack.errors import InputError, SchemaError
from bontrack.storage.row_security import limit_to_clinic
from bontrack.storage.unit import KEY, writer_of
from bontrack.storage.versioned import R

logger = logging.getLogger(__name__)
READ_DB_FIELD = "--read-db"


class ReadOnlyWrite(RuntimeError):
    """A read session was asked to write a record (a bug: reads from the replica write nothing)."""


class AuditToPrimary:
    """The writer of a read session: writes no record; hands each audit entry to the unit of work
    on the primary, which inserts it when it commits (bontrack.storage.unit.Writer)."""

    def __init__(self, primary: Session) -> None:
        self.primary = primary

    def append(self, db: Session, cls: type[R], values: dict[str, Any]) -> R:
        raise ReadOnlyWrite(f"a read from the read replica tried to write a {cls.__name__}")

    def audit(self, db: Session, **entry: Any) -> None:
        writer_of(self.primary).audit(self.primary, **entry)

    def flush(self, db: Session) -> None:
        return None

    def held(self, cls: type[R], record_id: str) -> R | None:
        return None

    def find(self, cls: type[R], equal: dict[str, Any], from_database: Callable[[], list[R]]) -> list[R]:
        return from_database()

    def held_audit(self) -> list[dict[str, Any]]:
        return []


def open_read_engine(url: str, primary: Engine) -> Engine:
    """An engine on the read replica: PostgreSQL, beside a PostgreSQL primary, at the schema this
    program expects (it is never migrated: a standby follows the primary's migrations)."""
    from bontrack.storage.engine import current_revision, head_revision, make_engine

    try:
        engine = make_engine(url)
    except InputError as exc:
        raise InputError.one(READ_DB_FIELD, exc.errors[0].message) from None
    if engine.dialect.name != "postgresql" or primary.dialect.name != "postgresql":
        raise InputError.one(
            READ_DB_FIELD,
            "a read replica is a PostgreSQL standby of a PostgreSQL registry; "
            "allowed: postgresql+psycopg://USER@HOST[:PORT]/DATABASE with --db on PostgreSQL too",
        )
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise InputError.one(
            READ_DB_FIELD, f"cannot connect to the read replica: {_first_line(exc)}"
        ) from None
    if revision != head_revision():
        raise SchemaError(
            f"the read replica's schema is at {revision or 'nothing'}, this bontrack expects "
            f"{head_revision()}: is {READ_DB_FIELD} a standby of --db?"
        )
    return engine


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


@contextmanager
def read_session(read_engine: Engine | None, primary: Session, clinic_id: str | None) -> Iterator[Session]:
    """A session to read from: on the replica if there is one (audited into ``primary``), else
    ``primary`` itself. ``clinic_id`` limits the replica's transaction as the primary's is.
    ``read_engine`` may also be a read-only engine on the primary's own SQLite file
    (``make_engine(url, read_only=True)``): a long read (an export) then holds no write lock, and
    its audit entries are written by ``primary`` when it commits."""
    if read_engine is None:
        yield primary
        return
    try:
        connection = read_engine.connect()
    except OperationalError as exc:
        logger.warning("the read replica cannot be reached (%s); reading from the primary", _first_line(exc))
        yield primary
        return
    with connection, Session(bind=connection, expire_on_commit=False) as db:
        db.info[KEY] = AuditToPrimary(primary)
        with db.begin():
            if read_engine.dialect.name == "postgresql":  # a read-only SQLite engine: one snapshot
                db.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            limit_to_clinic(db, clinic_id)
            yield db


@contextmanager
def held_read_session(engine: Engine, primary: Session, clinic_id: str | None) -> Iterator[Session]:
    """A session on ``engine`` (the registry's writer engine) holding SQLite's write lock for the
    read (the writers' turn, then BEGIN IMMEDIATE), audited into ``primary`` as a replica's read
    is. No unit commits while it reads, so reads of the file on connections of their own (the
    report's driver reads: ``committed=True``) see one state of the registry, as `bontrack
    report`'s do. For a request whose own transaction is a reader's (a GET on the read-only
    engine), whose unit of work then commits the audit entries."""
    from bontrack.storage.write_queue import write_turn

    with write_turn(engine), engine.connect() as connection, Session(bind=connection) as db:
        db.info[KEY] = AuditToPrimary(primary)
        with db.begin():
            limit_to_clinic(db, clinic_id)
            yield db
