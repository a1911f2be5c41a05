"""Read audits group-committed (issue 18 item 6): a read request's audit entries are written by
one writer, in batches, and the request is answered only once a batch holding them has committed.

How: a GET (or HEAD) whose route returned normally and whose unit of work made audit entries that
are all reads hands them over instead of inserting them (``hold``; bontrack.web.deps.get_db),
and its transaction commits with nothing written: no fsync of its own. When the response is
about to start, ``ReadAudits`` (the ASGI middleware) gives the entries to the loop's writer and
waits. The writer takes its turn at the database (SQLite's one-writer turn,
bontrack.web.db_turns.turn_at_database; none on PostgreSQL), takes every entry handed over by then,
inserts them in one transaction and commits (one fsync for all those requests), then answers
them; entries handed over meanwhile wait for the next batch. Concurrent readers so share a
commit.

A batch that fails to commit fails every request in it: each is answered 503 (Retry-After), and
none of what it read is sent. A read is never shown without its audit entry being durable.
The reads of a request that failed after reading (status 400 or more) are written with outcome
``failed``, as the request's own rollback path writes them (bontrack.storage.audit_log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bontrack.storage.audit_log import insert_entries
from bontrack.storage.engine import transaction
from bontrack.web.problems import problem
from bontrack.web.settings import WebSettings

logger = logging.getLogger(__name__)
KEY = "bontrack_read_audits"
RETRY_AFTER_SECONDS = 2
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable · bontrack</title></head>
<body><h1>Temporarily unavailable</h1>
<p>bontrack could not record this view in its audit log just now, so it shows nothing.</p>
<p>Please try again in a moment.</p>
<p><a href="/">Try the start page again</a></p></body></html>
"""


def hold(request: Request, entries: list[dict[str, Any]]) -> bool:
    """Keep a read request's entries to be group-committed before it is answered; False when the
    app does not group-commit (then the caller writes them with its transaction)."""
    if not entries or getattr(request.app.state, "read_audits", None) is None:
        return False
    held: list[dict[str, Any]] = request.scope.setdefault("state", {}).setdefault(KEY, [])
    held.extend(entries)
    return True


class _Batches:
    """One event loop's writer: entries waiting for the next batch, and whether one is running."""

    def __init__(self) -> None:
        self.waiting: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None


class ReadAuditWriter:
    """Writes the held read entries in batches, one transaction each (see above)."""

    def __init__(
        self, settings: WebSettings, turn: Callable[[WebSettings], AbstractAsyncContextManager[None]]
    ) -> None:
        self.settings = settings
        self.turn = turn  # the requests' turn at the database (bontrack.web.db_turns.turn_at_database)
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches] = WeakKeyDictionary()
        self.batches_committed = 0

    async def commit(self, entries: list[dict[str, Any]]) -> None:
        """Return once a batch holding ``entries`` has committed; raise if it failed."""
        loop = asyncio.get_running_loop()
        batches = self._loops.get(loop)
        if batches is None:
            batches = self._loops[loop] = _Batches()
        future: asyncio.Future[None] = loop.create_future()
        batches.waiting.append((entries, future))
        if batches.task is None or batches.task.done():
            batches.task = loop.create_task(self._drain(batches))
        await asyncio.shield(future)  # a client that goes away does not take the batch with it

    async def _drain(self, batches: _Batches) -> None:
        while batches.waiting:
            async with self.turn(self.settings):
                batch, batches.waiting = batches.waiting, []
                rows = [entry for entries, _future in batch for entry in entries]
                try:
                    await run_in_threadpool(self._write, rows)
                except Exception as exc:
                    logger.exception("could not commit a batch of %d read audit entries", len(rows))
                    for _entries, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    self.batches_committed += 1
                    for _entries, future in batch:
                        if not future.done():
                            future.set_result(None)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with transaction(self.settings.engine) as db:
            insert_entries(db, rows)


class ReadAudits:
    """ASGI middleware: holds a read request's response until its audit entries are durable, and
    answers 503 instead when they could not be written."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = False

        async def send_when_durable(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the route's answer is dropped: its reads were not recorded
            if message["type"] == "http.response.start":
                held = scope.get("state", {}).pop(KEY, None)
                if held:
                    if message["status"] >= 400:
                        held = [{**entry, "outcome": "failed"} for entry in held]
                    writer: ReadAuditWriter = scope["app"].state.read_audits
                    try:
                        await writer.commit(held)
                    except Exception:
                        refused = True
                        await _refusal(scope)(scope, receive, send)
                        return
            await send(message)

        await self.app(scope, receive, send_when_durable)


def _refusal(scope: Scope) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    path = str(scope.get("path", ""))
    accepts = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
    if path.startswith("/api") or "text/html" not in accepts:
        return problem(
            503,
            "Audit log unavailable",
            "the read could not be recorded in the audit log, so nothing of it is shown; "
            f"try again after {RETRY_AFTER_SECONDS} seconds",
            headers=headers,
        )
    return HTMLResponse(PAGE, status_code=503, headers=headers)
