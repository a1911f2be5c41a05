"""Engine and transactions for SQLite (default) or PostgreSQL, and schema migrations.

Services never commit: a caller opens one ``transaction()`` and calls as many services as it
likes inside it (the demo generator writes a whole clinic in one), so a failing command leaves
the registry unchanged.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from bontrack.errors import InputError, SchemaError
from bontrack.storage import record_json
from bontrack.storage.bulk import bulk as bulk_block
from bontrack.storage.record_json import json_text
from bontrack.storage.unit import UnitOfWork

# the writers' queue: re-exported (the command line and the tests name them here)
from bontrack.storage.write_queue import QUEUE_SUFFIX as QUEUE_SUFFIX
from bontrack.storage.write_queue import WRITE_QUEUE as WRITE_QUEUE
from bontrack.storage.write_queue import write_turn as write_turn

ALLOWED_URLS = "sqlite:///PATH (a file) or postgresql+psycopg://USER@HOST[:PORT]/DATABASE"


def make_engine(
    url: str, *, lock_wait_ms: int = 5000, read_only: bool = False, bulk_load: bool = False
) -> Engine:
    """An engine for a database URL; a URL of another kind is an InputError naming --db.

    ``lock_wait_ms``: how long a SQLite transaction waits for the write lock: for its turn in the
    writers' queue (``write_turn``), then in SQLite's busy handler (busy_timeout) for a writer
    that did not queue (another program; ``engine.begin()``). SQLite does not queue waiters
    itself: a one-off command (a backup's audit entry) beside steady writers of other programs
    may need longer than a request's 5 s to find the lock free.

    ``read_only`` (SQLite): transactions begin deferred, as readers (no write lock: in WAL mode
    they run beside the writer and each other, each on one snapshot from its first read), and
    the connections refuse writes (``PRAGMA query_only``), so a write through them fails at once
    instead of waiting for a lock it cannot upgrade to. The web app's read requests use one
    (bontrack.web.deps.get_db); see ``is_read_only``.

    ``bulk_load`` (SQLite): for one large transaction (``bontrack import``), the file is switched
    to a rollback journal while the engine's connections are open: pages the transaction adds to
    the file are written once, in place (a write-ahead log would hold the whole transaction, then
    copy it into the file: twice the registry's size on disk), and only pages that existed are
    journalled, so rolling back still restores the file. Readers wait while it commits. When
    another process has the file open the switch cannot be made and the log is kept.
    ``open_engine`` switches the file back to the write-ahead log."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError.one(
            "--db", f"cannot read {url!r} as a database URL; allowed: {ALLOWED_URLS}"
        ) from None
    if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise InputError.one("--db", f"unsupported database {parsed.drivername!r}; allowed: {ALLOWED_URLS}")
    if parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        raise InputError.one(
            "--db", f"give a file for SQLite (an in-memory database keeps nothing); allowed: {ALLOWED_URLS}"
        )
    sqlite = parsed.drivername.startswith("sqlite")
    options: dict[str, Any] = {READ_ONLY: True} if read_only and sqlite else {}
    if sqlite and not read_only:
        options[WRITE_QUEUE] = (os.path.abspath(str(parsed.database)) + QUEUE_SUFFIX, lock_wait_ms / 1000)
    engine = create_engine(
        parsed,
        json_serializer=json_text,
        # any JSON column read back, a table reflected too: a version's packed content unpacked
        json_deserializer=record_json.loads,
        execution_options=options,
        pool_size=POOL_SIZE,
        max_overflow=0,
    )
    if sqlite:
        pragmas = functools.partial(
            _sqlite_pragmas, lock_wait_ms=lock_wait_ms, read_only=read_only, bulk_load=bulk_load
        )
        event.listen(engine, "connect", pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin_immediate)
    _MADE.add(engine)
    return engine


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names (as given: relative to the current folder), or None: another
    database, an in-memory one, or a URL that cannot be read (``make_engine`` says why)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return str(parsed.database)


_MADE: weakref.WeakSet[Engine] = weakref.WeakSet()  # every engine made, while anything holds it


def dispose_all() -> None:
    """Close every engine's pooled connections (a command's last step, ``cli.main``). SQLite's
    last connection to a file folds its write-ahead log into it, so the file alone holds every
    commit; PostgreSQL's server processes end at once instead of when the client's socket goes."""
    for engine in list(_MADE):
        engine.dispose()


# Connections an engine keeps open, and the most it opens at once: SQLAlchemy's default, 5 kept
# and 10 more opened when needed, closed when returned, had the web app's 32 concurrent chart reads
# open and close a connection for every fourth request (a SQLite connection reads the schema
# again and sets its pragmas; a PostgreSQL one is a new server process). The same 15 at most.
POOL_SIZE = 15
READ_ONLY = "bontrack_read_only"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", QUEUE_SUFFIX)  # beside a SQLite file, while in use


def is_read_only(db: Session) -> bool:
    """Whether this unit of work runs on a read-only engine (``make_engine(read_only=True)``)."""
    return bool(db.get_bind().get_execution_options().get(READ_ONLY))


# a new SQLite registry's page: a session's version (2-3 KB of JSON) left most of a 4 KB page
# empty; 8 KB pages hold three (the size is fixed when the first table is made)
SQLITE_PAGE_SIZE = 8192


BULK_LOAD_CACHE_KB = 24_000  # a bulk load's page cache (its keys' indexes are inserted at random)


def _sqlite_pragmas(
    dbapi_connection: Any,
    _record: Any,
    *,
    lock_wait_ms: int = 5000,
    read_only: bool = False,
    bulk_load: bool = False,
) -> None:
    # SQLAlchemy, not the sqlite3 module, decides where transactions begin (see below)
    dbapi_connection.isolation_level = None
    record_json.register(dbapi_connection)  # bontrack_json(data): a version's JSON in SQL
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_ms)}")
    if read_only:  # the writer's connections made the file and chose its journal
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()
        return
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # no effect once the file has tables
    if bulk_load:
        cursor.execute(f"PRAGMA cache_size=-{BULK_LOAD_CACHE_KB}")
        try:
            cursor.execute("PRAGMA journal_mode=DELETE")
            cursor.close()
            return
        except sqlite3.OperationalError:  # another connection has the file open: keep its log
            pass
    # Write-ahead log: a commit appends to one file (still synced: synchronous stays FULL), and
    # readers in other processes are not blocked by a writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin_deferred(conn: Any) -> None:
    """A reader's transaction: one snapshot for all its queries, taken at its first read."""
    conn.exec_driver_sql("BEGIN")


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take the write lock when a transaction begins, not at its first write.

    Every unit of work writes (reads leave audit entries). Begun the default (deferred) way, two
    concurrent ones that have both read deadlock when each wants to write, and SQLite fails one
    at once with "database is locked" instead of waiting. Begun IMMEDIATE, the second waits
    (busy_timeout) for the first to commit.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "bontrack:migrations")
    config.attributes["connection"] = connection
    return config


# The newest migration shipped with this program, as ``head_revision`` finds it. Asking alembic
# imports it and every migration (about 0.4 s of CPU, a fixed cost of every command), so a database
# already at this revision is recognised without it (``ensure_schema``);
# tests/storage/test_db.py checks that the two agree, so a new migration must name itself here.
SCHEMA_HEAD = "0024_adverse_event_index"


def head_revision() -> str:
    """The newest migration shipped with this program."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema up to the newest migration; returns the revision reached."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    refresh_statistics(engine)
    return head_revision()


# rows SQLite's ANALYZE samples per index: enough to tell a patient's rows from a clinic's, and
# bounded (about 0.3 s on a 700 MB, 10,000-patient registry)
SQLITE_ANALYSIS_LIMIT = 1000


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner the tables' statistics (ANALYZE), after a bulk load or an upgrade
    and when the server starts on SQLite.

    Without them SQLite guesses that every index narrows alike, and on a one-clinic registry it
    may read a patient's records through the clinic's index (every row of the clinic) instead of
    the patient's: a chart took 1.3 s instead of 50 ms on 10,000 patients. PostgreSQL's autovacuum
    keeps its statistics, but only some time after a bulk load. A role that does not own the
    tables (the serving role) is skipped with a warning, not refused.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")


def _at_head(engine: Engine) -> bool:
    """Whether the database's one stamped revision is ``SCHEMA_HEAD``, read by plain SQL (no
    alembic). Anything else (no version table, no row, several, another revision) is False and
    left to alembic to tell apart."""
    try:
        with engine.connect() as conn:
            stamped = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except DBAPIError:
        return False
    return [tuple(row) for row in stamped] == [(SCHEMA_HEAD,)]


def ensure_schema(engine: Engine) -> None:
    """Create the schema in a new, empty database; refuse to work on an outdated one."""
    if _at_head(engine):
        return
    revision = current_revision(engine)
    if revision is None:
        if inspect(engine).get_table_names():
            raise SchemaError(
                "the database holds tables but no bontrack schema version; is it another program's?"
            )
        upgrade(engine)
    elif revision != head_revision():
        raise SchemaError(
            f"the database schema is at {revision}, this bontrack expects {head_revision()}: "
            "run `bontrack backup FILE`, then `bontrack db upgrade`"
        )


def open_engine(url: str) -> Engine:
    """An engine on a database whose schema is current (a new database is created)."""
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


@contextmanager
def transaction(engine: Engine, *, bulk: bool = False) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back entirely if it raises.

    Its writer is chosen here: the buffered one, or with ``bulk=True`` the bulk writer for the
    whole unit (bontrack.storage.bulk; a block inside may also open one with ``bulk(db)``).
    """
    with write_turn(engine), UnitOfWork(engine, expire_on_commit=False) as session, session.begin():
        if bulk:
            with bulk_block(session):
                yield session
        else:
            yield session
