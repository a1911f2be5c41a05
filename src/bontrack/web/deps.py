"""Dependencies the routes share: the request's transaction, who is asking, and role checks.

Routes are authenticated by default (every router under /api depends on ``current_user``); the
open routes (log-in, the patient link, /health, /openapi.json) are the visible exceptions.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bontrack.actor import Actor
from bontrack.auth.models import AuthTokenRow, UserRow
from bontrack.auth.schemas import Role, UserRead
from bontrack.auth.service import TokenOwner, digest, get_user_by_email, token_owner
from bontrack.roles import ADMIN as ADMIN
from bontrack.roles import ISSUE_LINKS as ISSUE_LINKS
from bontrack.roles import READ_CLINICAL as READ_CLINICAL
from bontrack.roles import READ_DEIDENTIFIED as READ_DEIDENTIFIED
from bontrack.roles import WRITE_ADVERSE_EVENTS as WRITE_ADVERSE_EVENTS
from bontrack.roles import WRITE_ASSESSMENTS as WRITE_ASSESSMENTS
from bontrack.roles import WRITE_EPISODES as WRITE_EPISODES
from bontrack.roles import WRITE_OUTCOMES as WRITE_OUTCOMES
from bontrack.roles import WRITE_PATIENTS as WRITE_PATIENTS
from bontrack.roles import WRITE_SCREENINGS as WRITE_SCREENINGS
from bontrack.roles import WRITE_SESSIONS as WRITE_SESSIONS
from bontrack.roles import WRITE_THERAPY as WRITE_THERAPY
from bontrack.roles import not_allowed
from bontrack.storage.audit_log import (
    Attempt,
    denied_attempt,
    denied_entry,
    insert_entries,
    log_denied,
    mark_denied,
    pending_reads,
    take_reads,
)
from bontrack.storage.engine import is_read_only, transaction
from bontrack.storage.row_security import limit_to_clinic
from bontrack.web.db_turns import database_turn, reads_engine
from bontrack.web.db_turns import in_transaction as in_transaction
from bontrack.web.db_turns import turn_at_database as turn_at_database
from bontrack.web.log_redaction import redact_path
from bontrack.web.problems import LoginRequired, ProblemError
from bontrack.web.read_audits import hold
from bontrack.web.settings import WebSettings

logger = logging.getLogger(__name__)
SESSION_COOKIE = "bontrack_session"


def set_session_cookie(response: Response, secret: str, settings: WebSettings) -> None:
    """The browser's session cookie (log-in, and a password changed by its user): for the
    session's lifetime, out of scripts' reach, sent on this site's own navigations only."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Who may do what (bontrack.roles; re-exported: the routes import them from here).


# Dependencies that only compute (no I/O) are ``async def``: FastAPI runs a plain ``def``
# dependency in a worker thread, and each such hop costs more than the work itself.
async def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[WebSettings, Depends(settings_of)]


async def now(settings: SettingsDep) -> datetime:
    return settings.clock()


NowDep = Annotated[datetime, Depends(now)]


async def request_turn(request: Request, settings: SettingsDep) -> AsyncIterator[None]:
    """The request's turn at the database (bontrack.web.db_turns), held until the route returns."""
    async with database_turn(request, settings):
        yield


def get_db(
    request: Request,
    settings: SettingsDep,
    _turn: Annotated[None, Depends(request_turn, scope="function")],
) -> Iterator[Session]:
    """One transaction per request (``request_unit``), held until the route returns."""
    with request_unit(request, settings) as db:
        yield db


@contextmanager
def request_unit(request: Request, settings: WebSettings) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises.

    What a failed request leaves in the audit trail, written after the rollback in a transaction
    of its own: a denied attempt, one entry with outcome ``denied``; any other failure, the reads
    it made, with outcome ``failed`` (its error message may quote what was read). A record of a
    clinic the user does not see, withdrawn or not, the services report exactly like a missing one.

    A read request (GET, HEAD) whose entries are all reads hands them over to be group-committed
    before it is answered (bontrack.web.read_audits) instead of writing them itself.

    ``get_db`` (SessionDep) is this as a dependency; a route that does all its work in one worker
    thread (the chart) opens it itself, during its turn at the database (``database_turn``).
    """
    kept: list[dict[str, Any]] = []
    try:
        with transaction(reads_engine(request, settings) or settings.engine) as db:
            try:
                yield db
            except Exception as exc:
                attempt = denied_attempt(exc)
                if attempt is not None:
                    path = f"{request.method} {redact_path(request.url.path)}"
                    kept = [denied_entry(attempt, action=_action_of(request), detail=path)]
                else:
                    kept = pending_reads(db)
                raise
            if request.method in SAFE_METHODS:
                taken = take_reads(db)
                if taken and not hold(request, taken):
                    insert_entries(db, taken)
    except Exception:
        if kept:
            _write_kept(settings, kept)
        raise


def _action_of(request: Request) -> str:
    if request.method in SAFE_METHODS:
        return "read"
    if request.method in ("PUT", "PATCH"):
        return "update"
    if request.method == "DELETE" or request.url.path.endswith("/withdraw"):
        return "withdraw"
    return "create"


def _write_kept(settings: WebSettings, rows: list[dict[str, Any]]) -> None:
    try:
        with transaction(settings.engine) as db:
            insert_entries(db, rows)
    except SQLAlchemyError:  # the database failed too: the request's own error is the one to report
        logger.exception("could not write the audit entries of a failed request")


# scope="function": the transaction ends when the route returns, before the response is sent,
# so a client that got 201 can read what it wrote.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """The logged-in user and how they authenticated (session cookie or bearer token)."""

    user: UserRead
    via: str
    csrf_token: str | None

    @property
    def actor(self) -> Actor:
        """Who acts, for the services: they return only the records of the user's clinic."""
        return Actor(self.user.actor, clinic_id=self.user.clinic_id, role=self.user.role)

    @property
    def role(self) -> Role:
        return self.user.role


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return expected is not None and given is not None and secrets.compare_digest(expected, given)


def _from_request(request: Request, db: Session, at: datetime, settings: WebSettings) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        owner = token_owner(db=db, secret=credentials.strip(), kind="bearer", now=at)
        if owner is None:
            refused = ProblemError(
                401,
                "Not logged in",
                "the bearer token is unknown, expired or revoked; get a new one from POST /api/auth/token",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            known = _owner_of_dead_token(db, credentials.strip())
            if known is not None:  # an expired or revoked token of a known user: a denied attempt
                raise mark_denied(refused, Attempt(known, detail="expired or revoked bearer token"))
            raise refused
        return Principal(owner.user, "bearer", None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        owner = session_owner(db, cookie, at, settings)
        if owner is not None:
            return Principal(owner.user, "session", owner.csrf_token)
    return None


def audit_refused_login(db: Session, email: str) -> None:
    """A refused log-in to a known account is a denied attempt in the audit trail (in the
    request's transaction, which commits: the failure counts towards the throttle)."""
    user = get_user_by_email(db=db, email=email.strip().lower()[:320])
    if user is not None:
        log_denied(db, Attempt(user.actor), action="login", detail="wrong password or inactive account")


def _owner_of_dead_token(db: Session, secret: str) -> str | None:
    """The audit name of the user a token was issued to, whatever its state (None if unknown)."""
    found = db.execute(
        select(UserRow.email)
        .join(AuthTokenRow, AuthTokenRow.user_id == UserRow.id)
        .where(AuthTokenRow.token_hash == digest(secret))
    ).first()
    return None if found is None else f"user:{found[0]}"


def session_owner(db: Session, cookie: str, at: datetime, settings: WebSettings) -> TokenOwner | None:
    """Whose browser session this is, if it is live: not past its lifetime nor its idle timeout.

    In a read request's read-only transaction the session's last use (written at most once a
    minute) is recorded by a short transaction of its own on the writer's engine."""
    touch = None
    if is_read_only(db):

        def touch(token_hash: str, when: datetime) -> None:
            with transaction(settings.engine) as own:
                own.execute(
                    update(AuthTokenRow)
                    .where(AuthTokenRow.token_hash == token_hash)
                    .values(last_used_at=when)
                )

    return token_owner(
        db=db, secret=cookie, kind="session", now=at, idle=settings.session_idle_timeout, touch=touch
    )


def current_user(request: Request, db: SessionDep, at: NowDep, settings: SettingsDep) -> Principal:
    """The API caller; 401 without valid credentials, 403 for a cookie write without CSRF token.
    The request's transaction is limited to the user's clinic from here on (on PostgreSQL)."""
    principal = _api_principal(request, db, at, settings)
    limit_to_clinic(db, principal.user.clinic_id)
    return principal


async def current_user_briefly(request: Request, at: NowDep, settings: SettingsDep) -> Principal:
    """current_user, looked up in a short transaction of its own: for routes that must not hold
    the database while they work (those that hash a password)."""
    return await in_transaction(settings, lambda db: _api_principal(request, db, at, settings))


def _api_principal(request: Request, db: Session, at: datetime, settings: WebSettings) -> Principal:
    principal = _from_request(request, db, at, settings)
    request.state.principal = principal
    if principal is None:
        raise ProblemError(
            401,
            "Not logged in",
            "log in first: POST /api/auth/token (OAuth2 password form), or the /login page",
            {"WWW-Authenticate": "Bearer"},
        )
    if (
        principal.via == "session"
        and request.method not in SAFE_METHODS
        and not csrf_ok(principal.csrf_token, request.headers.get(CSRF_HEADER))
    ):
        raise mark_denied(
            ProblemError(
                403, "CSRF check failed", f"send the session's CSRF token in the {CSRF_HEADER} header"
            ),
            Attempt(principal.actor, detail="no valid CSRF token"),
        )
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def page_user(request: Request, db: SessionDep, at: NowDep, settings: SettingsDep) -> Principal:
    """The user of a server-rendered page; without a session the browser goes to /login. The
    request's transaction is limited to the user's clinic from here on (on PostgreSQL)."""
    principal = _page_principal(request, db, at, settings)
    limit_to_clinic(db, principal.user.clinic_id)
    return principal


async def page_user_briefly(request: Request, at: NowDep, settings: SettingsDep) -> Principal:
    """page_user, looked up in a short transaction of its own (see current_user_briefly)."""
    return await in_transaction(settings, lambda db: _page_principal(request, db, at, settings))


def _page_principal(request: Request, db: Session, at: datetime, settings: WebSettings) -> Principal:
    cookie = request.cookies.get(SESSION_COOKIE)
    owner = session_owner(db, cookie, at, settings) if cookie else None
    if owner is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        ended = None if not cookie else "unsaved" if request.method == "POST" else "ended"
        raise LoginRequired(path, ended)
    principal = Principal(owner.user, "session", owner.csrf_token)
    request.state.principal = principal
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def require(roles: tuple[Role, ...]) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only these roles through (403 names the roles)."""

    async def check(principal: CurrentUser) -> Principal:
        return check_role(principal, roles)

    return check


def check_role(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    """The principal, if its role is one of these; else 403 naming the roles (a denied attempt)."""
    if principal.role not in roles:
        raise mark_denied(
            ProblemError(
                403,
                "Not allowed",
                not_allowed(principal.role, roles),
            ),
            Attempt(principal.actor, detail=f"role {principal.role} not allowed"),
        )
    return principal


def clinic_scope(principal: Principal, asked: str | None) -> str | None:
    """The clinic a list is limited to: the user's own, or the one asked for if the user has none."""
    if principal.user.clinic_id is not None:
        if asked is not None and asked != principal.user.clinic_id:
            raise mark_denied(
                ProblemError(403, "Not allowed", "you can list only your own clinic's records"),
                Attempt(principal.actor, clinic_id=asked, detail="another clinic's list"),
            )
        return principal.user.clinic_id
    return asked


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="how many items (1-500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="how many items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
