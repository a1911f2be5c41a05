"""API log-in: OAuth2 password form for a bearer token; revoke; who am I; change my password."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bontrack.auth.schemas import IssuedToken, PasswordChange, UserRead
from bontrack.auth.service import begin_login, check_password, finish_login, issue_token, revoke_token
from bontrack.web.accounts import change_own_password
from bontrack.web.api.schemas import OwnPasswordChanged, TokenResponse
from bontrack.web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    NowDep,
    Principal,
    SessionDep,
    SettingsDep,
    audit_refused_login,
    current_user_briefly,
    in_transaction,
)
from bontrack.web.problems import Problem, problem
from bontrack.web.settings import WebSettings

router = APIRouter(prefix="/api/auth", tags=["auth"])
CHANGED = "Your password was changed; you were logged out everywhere else."


def client_address(request: Request) -> str:
    """The client's address: the peer of the connection. `bontrack serve` puts a proxy's
    X-Forwarded-For there only when the proxy's address was given with --forwarded-allow-ips."""
    return request.client.host if request.client is not None else "unknown"


async def password_log_in(
    settings: WebSettings,
    *,
    email: str,
    password: str,
    client: str,
    at: datetime,
    kind: str,
    lifetime: timedelta,
) -> IssuedToken | None:
    """A log-in with e-mail and password: a new session or bearer token, or None for a wrong
    password (counted); raises Throttled past the limit.

    Three steps: count the attempt and read the stored hash (a short transaction, committed, so
    concurrent attempts see the count); check the password with Argon2 in a worker thread holding
    no transaction and not the request's turn at the database (so a flood of log-ins does not stall
    other requests); then record the outcome and issue the token (another short transaction)."""
    attempt = await in_transaction(
        settings,
        lambda db: begin_login(db=db, email=email, client=client[:64], now=at, policy=settings.throttle),
    )
    check = await run_in_threadpool(check_password, attempt, password)

    def finish(db: Session) -> IssuedToken | None:
        user = finish_login(db=db, attempt=attempt, check=check)
        if user is None:
            audit_refused_login(db, email)  # a known account's refused log-in: a denied attempt
            return None
        return issue_token(db=db, user_id=user.id, kind=kind, now=at, lifetime=lifetime)

    return await in_transaction(settings, finish)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"model": Problem}, 429: {"model": Problem}},
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    settings: SettingsDep,
    at: NowDep,
) -> TokenResponse | Response:
    """Exchange an e-mail (``username``) and password for a bearer token (OAuth2 password grant)."""
    token = await password_log_in(
        settings,
        email=form.username,
        password=form.password,
        client=client_address(request),
        at=at,
        kind="bearer",
        lifetime=settings.token_lifetime,
    )
    if token is None:
        return problem(
            401, "Log-in failed", "wrong e-mail or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return TokenResponse(
        access_token=token.secret,
        expires_in=int(settings.token_lifetime.total_seconds()),
        expires_at=token.expires_at,
    )


def presented_secret(request: Request, principal: Principal) -> str:
    """The secret of the bearer token, or browser session, this request was made with."""
    if principal.via == "bearer":
        return request.headers["authorization"].partition(" ")[2].strip()
    return request.cookies.get(SESSION_COOKIE, "")


@router.post("/revoke", status_code=204, responses={401: {"model": Problem}})
def revoke_own_token(request: Request, principal: CurrentUser, db: SessionDep, at: NowDep) -> Response:
    """End the bearer token (or the browser session) this request was made with."""
    revoke_token(db=db, secret=presented_secret(request, principal), now=at)
    return Response(status_code=204)


@router.get("/me", response_model=UserRead, responses={401: {"model": Problem}})
def who_am_i(principal: CurrentUser) -> UserRead:
    """The logged-in user."""
    return principal.user


@router.post(
    "/password",
    response_model=OwnPasswordChanged,
    responses={400: {"model": Problem}, 401: {"model": Problem}, 429: {"model": Problem}},
)
async def change_password(
    data: PasswordChange,
    request: Request,
    principal: Annotated[Principal, Depends(current_user_briefly)],
    settings: SettingsDep,
    at: NowDep,
) -> OwnPasswordChanged:
    """Change your own password: give the current one and the new one (same rules as for a new
    user; ``new_password_again``, when given, must be the same). Every other session and API token
    of yours ends; the token this request was made with goes on working. A wrong current password
    counts as a failed log-in (too many lock the account for a while: 429). Audited."""
    ended, _ = await change_own_password(
        settings,
        principal,
        data,
        client=client_address(request),
        at=at,
        kept=presented_secret(request, principal),
    )
    return OwnPasswordChanged(sessions_ended=ended, detail=CHANGED)
