"""A browser session's idle end, as the pages' script (static/session_idle.js) meets it.

Three routes, each small:

- ``GET /login/state``: is this browser's session live, and for how long yet (seconds)? Answered
  without touching the session (asking does not keep it alive). When it has ended, the answer
  carries a log-in form token (the double-submit cookie of /login, whose path covers /login/...).
- ``POST /session/keep``: "Stay logged in": the session's idle clock starts again (the request
  is a use of it, CSRF header required, as every script's write).
- ``POST /login/renew``: a log-in from the page's own dialog after the session ended, so a form
  with typed text can still be sent: the same rules as the log-in page (password_log_in: the
  throttle, the lock-out, the audit of a refused log-in), refused for another user than the
  page's. Answers the new session's CSRF token, which the script puts into the form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bontrack.auth.models import AuthTokenRow, UserRow
from bontrack.auth.service import Throttled, digest, token_owner
from bontrack.schemas import Input, NoControls
from bontrack.web import csrf
from bontrack.web.api.auth import client_address, password_log_in
from bontrack.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentUser,
    NowDep,
    SessionDep,
    SettingsDep,
    in_transaction,
    set_session_cookie,
)
from bontrack.web.problems import problem
from bontrack.web.settings import WebSettings

router = APIRouter(include_in_schema=False)


class SessionRenew(Input):
    """The in-page log-in: e-mail, password, and the e-mail of the page's user (whose form waits)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, hide_input_in_errors=True
    )

    email: Annotated[str, Field(min_length=1, max_length=320), NoControls]
    password: Annotated[str, Field(max_length=200)]
    page_email: Annotated[str, Field(min_length=1, max_length=320), NoControls]


def seconds_left(db: Session, cookie: str, at: datetime, settings: WebSettings) -> tuple[int, str] | None:
    """How long this browser session lives yet, in whole seconds, and why it would end then:
    "idle" (unused; a use keeps it alive) or "lifetime" (its 12-hour limit, which nothing moves);
    None if it has ended. Reads only: the session is not touched."""
    if token_owner(db=db, secret=cookie, kind="session", now=at) is None:  # no idle: no touch
        return None
    row = db.execute(
        select(AuthTokenRow.created_at, AuthTokenRow.last_used_at, AuthTokenRow.expires_at).where(
            AuthTokenRow.token_hash == digest(cookie)
        )
    ).one()
    idle_end = (row.last_used_at or row.created_at) + settings.session_idle_timeout
    reason = "idle" if idle_end <= row.expires_at else "lifetime"
    whole = int((min(idle_end, row.expires_at) - at).total_seconds())
    return (whole, reason) if whole > 0 else None


@router.get("/login/state")
def session_state(request: Request, db: SessionDep, settings: SettingsDep, at: NowDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    left = seconds_left(db, cookie, at, settings) if cookie else None
    if left is not None:
        return JSONResponse({"live": True, "seconds_left": left[0], "ends": left[1]})
    token = csrf.login_token(request)
    response = JSONResponse({"live": False, "seconds_left": 0, "login_token": token})
    csrf.set_login_cookie(response, token, secure=settings.secure_cookies)
    return response


@router.post("/session/keep")
def keep_session(
    request: Request, principal: CurrentUser, db: SessionDep, settings: SettingsDep, at: NowDep
) -> Response:
    """The person asked to stay logged in: the idle clock starts again from now."""
    if principal.via != "session":
        return problem(
            400, "Not a browser session", "only a browser session ends when unused; a bearer token does not"
        )
    cookie = request.cookies.get(SESSION_COOKIE, "")
    db.execute(update(AuthTokenRow).where(AuthTokenRow.token_hash == digest(cookie)).values(last_used_at=at))
    left = seconds_left(db, cookie, at, settings)
    return JSONResponse(
        {"seconds_left": left[0], "ends": left[1]} if left else {"seconds_left": 0, "ends": "idle"}
    )


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _owner_email(db: Session, cookie: str) -> str | None:
    """The e-mail of the user a browser session was issued to, live or not (None if unknown)."""
    found = db.execute(
        select(UserRow.email)
        .join(AuthTokenRow, AuthTokenRow.user_id == UserRow.id)
        .where(AuthTokenRow.token_hash == digest(cookie))
    ).first()
    return None if found is None else str(found[0])


@router.post("/login/renew")
async def renew_session(request: Request, body: SessionRenew, settings: SettingsDep, at: NowDep) -> Response:
    if not csrf.login_form_ok(request, request.headers.get(CSRF_HEADER)):
        return problem(403, "Log-in form expired", "The log-in form had expired. Please try again.")
    cookie = request.cookies.get(SESSION_COOKIE)
    before = await in_transaction(settings, lambda db: _owner_email(db, cookie)) if cookie else None
    page_user = before or body.page_email
    if not _same(body.email, page_user):
        return problem(
            409,
            "Another user",
            f"This page was filled in by {page_user.strip()}. Log in as {page_user.strip()} to send "
            "it. To log in as someone else, open the log-in page: what was typed here is then not sent.",
        )
    try:
        token = await password_log_in(
            settings,
            email=body.email,
            password=body.password,
            client=client_address(request),
            at=at,
            kind="session",
            lifetime=settings.session_lifetime,
        )
    except Throttled as exc:
        return problem(
            429, "Too many failed log-ins", exc.words(), headers={"Retry-After": str(exc.retry_after_seconds)}
        )
    if token is None:
        return problem(401, "Log-in failed", "Wrong e-mail or password.")
    response = JSONResponse({"csrf_token": token.csrf_token})
    set_session_cookie(response, token.secret, settings)
    response.delete_cookie(csrf.LOGIN_CSRF_COOKIE, path="/login")
    return response
