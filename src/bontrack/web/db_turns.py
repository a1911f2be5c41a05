"""Each request's turn at the database, and which engine a read request's transaction runs on.

SQLite has one writer: the requests of a process that write take turns (``turn_at_database``),
waiting in the event loop; a GET whose audit entries are group-committed runs on the read-only
engine beside them (``reads_engine``). On PostgreSQL there is no turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar
from weakref import WeakKeyDictionary

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bontrack.storage.engine import transaction
from bontrack.storage.row_security import limit_to_clinic
from bontrack.web.settings import WebSettings

_db_turns: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


@asynccontextmanager
async def turn_at_database(settings: WebSettings) -> AsyncIterator[None]:
    """SQLite: one request transaction at a time (SQLite has one writer, and every request writes
    its audit entries). Waiting here, in the event loop, holds no worker thread and never times
    out; waiting in SQLite's busy handler would poll, and could time out under load."""
    if settings.engine.dialect.name != "sqlite":
        yield
        return
    loop = asyncio.get_running_loop()
    turn = _db_turns.get(loop)
    if turn is None:
        turn = _db_turns[loop] = asyncio.Semaphore(1)
    async with turn:
        yield


def reads_engine(request: Request, settings: WebSettings) -> Engine | None:
    """The engine a read request's transaction runs on without a turn (SQLite's read-only one),
    or None: the request takes its turn on the writer's engine.

    A GET or HEAD, when the app group-commits read audits (its entries go to the batch writer,
    which takes its own turn) and the route writes nothing else: on a read-only connection a
    write fails at once (PRAGMA query_only), and every test of the web app runs through here. A
    browser session's idle clock is kept by a short write of its own (``session_owner``)."""
    if settings.local_reads is None or request.method not in ("GET", "HEAD"):
        return None
    if getattr(request.app.state, "read_audits", None) is None:
        return None
    route = request.scope.get("route")
    if getattr(route, "path", None) in WRITING_READS:
        return None
    return settings.local_reads


# GET routes that write (they take their turn on the writer's engine)
WRITING_READS: frozenset[str] = frozenset()


@asynccontextmanager
async def database_turn(request: Request, settings: WebSettings) -> AsyncIterator[None]:
    """The request's turn: none for a reader on the read-only engine, else ``turn_at_database``."""
    if reads_engine(request, settings) is not None:  # a reader: WAL lets it run beside the writer
        yield
        return
    async with turn_at_database(settings):
        yield


T = TypeVar("T")


async def in_transaction(
    settings: WebSettings, work: Callable[[Session], T], *, clinic_id: str | None = None
) -> T:
    """Run ``work`` in a transaction of its own, in a worker thread, during this request's turn at
    the database. For routes that do slow work (password hashing) between short transactions and
    so must not hold the database for the whole request, as SessionDep does. ``clinic_id``: the
    transaction is limited to it (the user's clinic, as SessionDep's is after the log-in)."""

    def run() -> T:
        with transaction(settings.engine) as db:
            limit_to_clinic(db, clinic_id)
            return work(db)

    async with turn_at_database(settings):
        return await run_in_threadpool(run)
