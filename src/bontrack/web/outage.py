"""When the database cannot be reached: 503 with Retry-After, and /health saying what is down.

The API answers 503 application/problem+json, the pages a plain 503 page (made without the
database or the templates' user), both with ``Retry-After``. Nothing else changes: the engine's
pool drops broken connections by itself, so requests succeed again as soon as the database is
back, with no restart.

``/health`` checks the database too, at most once per ``WebSettings.health_probe_seconds``
(a flood of health checks must not become a flood of queries); a request that found the
database unreachable marks it down at once.

A database that answers but is busy is not down: a write that waited its whole lock wait for
other writers (SQLite's "database is locked", PostgreSQL's lock timeout, a serialization
failure or deadlock) gets 503 "Registry busy" with Retry-After, saying nothing was saved, and
/health stays "ok".
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bontrack.web.log_redaction import redact_path
from bontrack.web.problems import problem

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
PROBE_TIMEOUT_SECONDS = 3.0
UNREACHABLE = (OperationalError, InterfaceError, PoolTimeout)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable · bontrack</title></head>
<body><h1>Temporarily unavailable</h1>
<p>bontrack cannot reach its database just now. Nothing was changed by this page.</p>
<p>Please try again in a minute. If you were saving a form, check afterwards whether it was saved
before entering it again.</p>
<p><a href="/">Try the start page again</a></p></body></html>
"""

BUSY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Busy, please try again · bontrack</title></head>
<body><h1>Busy, please try again</h1>
<p>bontrack was busy saving other changes and could not finish this one in time. Nothing was
changed by this page.</p>
<p>Go back and send the form again in a few seconds.</p>
<p><a href="/">Back to the start page</a></p></body></html>
"""


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    app: Literal["ok"] = Field(description="the server process answers")
    database: Literal["ok", "unreachable"]
    reason: str | None = Field(None, description="why the database is unreachable (absent when it is ok)")


class DatabaseProbe:
    """The database's state as /health reports it: "ok", or "unreachable" with the reason."""

    def __init__(self, engine: Engine, every_seconds: float) -> None:
        self.engine = engine
        self.every_seconds = every_seconds
        self.state = "ok"
        self.reason: str | None = None
        self.checked = float("-inf")
        self._lock: asyncio.Lock | None = None

    def mark_down(self, exc: BaseException) -> None:
        self.state, self.reason = "unreachable", _reason(exc)
        self.checked = time.monotonic()

    async def current(self) -> tuple[str, str | None]:
        if time.monotonic() - self.checked < self.every_seconds:
            return self.state, self.reason
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one probe at a time; the others take its answer
            if time.monotonic() - self.checked >= self.every_seconds:
                try:
                    with anyio.fail_after(PROBE_TIMEOUT_SECONDS):
                        await anyio.to_thread.run_sync(self._probe, abandon_on_cancel=True)
                    self.state, self.reason = "ok", None
                except TimeoutError:
                    self.state, self.reason = "unreachable", f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
                except Exception as exc:
                    self.state, self.reason = "unreachable", _reason(exc)
                self.checked = time.monotonic()
        return self.state, self.reason

    def _probe(self) -> None:
        if self.engine.dialect.name == "sqlite":
            # a plain read outside any transaction: SQLite's BEGIN IMMEDIATE would wait for writers
            connection = self.engine.raw_connection()
            try:
                connection.cursor().execute("SELECT count(*) FROM sqlite_master").fetchall()
            finally:
                connection.close()
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")


BUSY_SQLITE_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
BUSY_SQLSTATE_PREFIXES = ("40", "55P03")  # transaction rollback (serialization, deadlock); lock not available


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the database answered but other transactions held what was needed."""
    original = getattr(exc, "orig", None) or exc
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in BUSY_SQLITE_CODES  # (an extended code keeps its primary in the low byte)
    sqlstate = getattr(original, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(BUSY_SQLSTATE_PREFIXES)


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}"[:300]


def _unavailable(request: Request, title: str, detail: str, page: str) -> Response:
    """503 with Retry-After: problem+json for the API, the plain page for the pages."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.url.path.startswith("/api/"):
        return problem(503, title, detail, headers=headers)
    return HTMLResponse(page, status_code=503, headers=headers)


def install(app: FastAPI, engine: Engine, every_seconds: float) -> None:
    probe = DatabaseProbe(engine, every_seconds)
    app.state.database_probe = probe

    async def unreachable(request: Request, exc: Exception) -> Response:
        path = redact_path(request.url.path)
        if is_busy(exc):
            logger.warning("database busy (%s %s): %s", request.method, path, _reason(exc))
            return _unavailable(
                request,
                "Registry busy",
                "the registry was busy with other changes for longer than a request waits, so "
                f"nothing was saved; send it again after {RETRY_AFTER_SECONDS} seconds",
                BUSY_PAGE,
            )
        probe.mark_down(exc)
        logger.warning("database unreachable (%s %s): %s", request.method, path, _reason(exc))
        return _unavailable(
            request,
            "Database unavailable",
            "the registry's database cannot be reached, so the request was not carried out; "
            f"try again after {RETRY_AFTER_SECONDS} seconds (a write whose connection broke "
            "while it was being committed may have been saved: read it back before sending it again)",
            PAGE,
        )

    for error in UNREACHABLE:
        app.add_exception_handler(error, unreachable)

    @app.get(
        "/health",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Health, "description": "the database cannot be reached"}},
    )
    async def health() -> JSONResponse:
        """Whether the server and its database answer: 200 when both do; 503 with Retry-After
        naming the part that is down. Needs no log-in."""
        state, reason = await probe.current()
        body: dict[str, Any] = {
            "status": "ok" if state == "ok" else "unavailable",
            "app": "ok",
            "database": state,
        }
        if reason is not None:
            body["reason"] = reason
        if state == "ok":
            return JSONResponse(body)
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
