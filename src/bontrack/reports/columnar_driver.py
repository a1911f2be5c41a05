"""The report's rows read by an ADBC driver on connections of its own, straight into Arrow (in C:
no Python object per row), read ahead in a thread (``prefetched``); from PostgreSQL
(``pg_batches``) on connections that see exactly what the session's transaction sees.

The session's transaction exports its snapshot (``pg_export_snapshot``); each driver connection
begins REPEATABLE READ READ ONLY and takes that snapshot (``SET TRANSACTION SNAPSHOT``) before its
first query, runs as the session's role and with the session's clinic limit (row-level security:
storage.row_security), so it reads the same rows the session's own cursor would. A transaction
that has written cannot be shared so (its own writes are not in the snapshot others import): then
there is no shared snapshot and the rows are read through the session's connection, as before.

In a READ COMMITTED transaction each statement reads its own snapshot: the exported one is taken
once (``shared_snapshot``, kept for the transaction), so all the report's reads see one state.
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from bontrack.storage.row_security import SETTING

_KEY = "bontrack_shared_snapshot"  # db.info: (the transaction, its SharedSnapshot or None)


@dataclass
class SharedSnapshot:
    """What a driver connection needs to read as the session does; while ``kept_connections``
    runs, the connections it opened (each in its transaction in the snapshot) kept for the next
    read: opening one costs 35-40 ms (the driver reads the server's types), ten a report."""

    conninfo: str = field(repr=False)  # the engine's connection parameters (libpq), its password too
    snapshot: str  # pg_export_snapshot()
    role: str  # the session's current_user
    clinic: str | None  # the session's clinic limit (storage.row_security.SETTING), if set
    keep: bool = False
    idle: list[Any] = field(default_factory=list, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def connection(self) -> Any:
        """An idle connection, else a new one in the snapshot, as the role, in the clinic."""
        with self.lock:
            if self.idle:
                return self.idle.pop()
        import adbc_driver_postgresql.dbapi as adbc

        begin = [
            "begin isolation level repeatable read read only",
            f"set transaction snapshot {_literal(self.snapshot)}",  # (before any query)
            f"set local role {_identifier(self.role)}",
        ]
        if self.clinic is not None:  # as storage.row_security.limit_to_clinic sets it
            begin.append(f"set local {SETTING} = {_literal(self.clinic)}")
        conn = adbc.connect(self.conninfo, autocommit=True)
        try:
            with conn.cursor() as cursor:
                for statement in begin:
                    cursor.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def done(self, conn: Any) -> None:
        """A connection whose read ended: kept for the next one, or closed."""
        with self.lock:
            if self.keep:
                self.idle.append(conn)
                return
        conn.close()


@contextmanager
def kept_connections(shared: SharedSnapshot | None) -> Iterator[None]:
    """The driver's connections kept from one read to the next while the block runs, then closed."""
    if shared is None:
        yield
        return
    shared.keep = True
    try:
        yield
    finally:
        with shared.lock:
            shared.keep, idle, shared.idle = False, shared.idle, []
        for conn in idle:
            conn.close()


def shared_snapshot(db: Session) -> SharedSnapshot | None:
    """The snapshot of ``db``'s transaction, exported for the driver's connections (once per
    transaction: the same one for every read), or None: not PostgreSQL, or the transaction has
    written (it has a transaction id), whose own rows only its connection sees. Call it before
    reading in threads (it runs a statement on the session's connection; later calls do not)."""
    transaction = db.get_transaction()
    kept = db.info.get(_KEY)
    if kept is not None and transaction is not None and kept[0] is transaction:
        shared: SharedSnapshot | None = kept[1]
        return shared
    if db.get_bind().dialect.name != "postgresql":
        return None
    conn = db.connection()
    row = conn.exec_driver_sql(
        "select pg_current_xact_id_if_assigned() is not null, current_user, "
        f"current_setting('{SETTING}', true)"
    ).one()
    shared = None
    if not row[0]:  # nothing written: the snapshot can be shared
        snapshot = conn.exec_driver_sql("select pg_export_snapshot()").scalar_one()
        shared = SharedSnapshot(_conninfo(db), snapshot, row[1], row[2] or None)
    db.info[_KEY] = (transaction, shared)
    return shared


def _conninfo(db: Session) -> str:
    """The libpq parameters the session's engine connects with (its URL's), as psycopg takes them:
    its own keyword arguments (``psycopg.Connection.connect``'s) left out."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    engine = db.get_bind().engine
    args, params = engine.dialect.create_connect_args(engine.url)
    own = inspect.signature(psycopg.Connection.connect).parameters
    return make_conninfo(*args, **{k: v for k, v in params.items() if k not in own})


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_batches(shared: SharedSnapshot, sql: str) -> Iterator[pa.Table]:
    """The rows of ``sql`` read by the ADBC PostgreSQL driver on a connection of its own, in the
    session's snapshot, as its role, limited to its clinic; in Arrow tables as the driver hands
    them over."""
    conn = shared.connection()
    read = False
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            for batch in cursor.fetch_record_batch():
                yield pa.Table.from_batches([batch])
        read = True
    finally:  # (a read left unfinished: its connection closed, not kept)
        if read:
            shared.done(conn)
        else:
            conn.close()


def prefetched(read: Callable[[], Iterator[pa.Table]]) -> Iterator[pa.Table]:
    """The batches of a driver's ``read`` (``_adbc_batches``, ``pg_batches``) read ahead by a
    thread of their own (the driver and DuckDB both work without Python's lock, so reading the next
    batch and picking the fields of this one overlap)."""
    ahead: queue.Queue[pa.Table | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def work() -> None:
        try:
            for batch in read():
                while not stop.is_set():
                    try:
                        ahead.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(None)
        except BaseException as error:  # handed to the reader, raised there
            ahead.put(error)

    worker = threading.Thread(target=work, name="bontrack-adbc-read", daemon=True)
    worker.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
