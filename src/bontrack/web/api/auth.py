"""API log-in: OAuth2 password form for a bearer token; revoke; who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from bontrack.auth.schemas import UserRead
from bontrack.auth.service import authenticate, issue_token, revoke_token
from bontrack.web.api.schemas import TokenResponse
from bontrack.web.deps import CurrentUser, NowDep, SessionDep, SettingsDep, audit_refused_login
from bontrack.web.problems import Problem, problem

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"model": Problem}, 429: {"model": Problem}},
)
def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    at: NowDep,
) -> TokenResponse | Response:
    """Exchange an e-mail (``username``) and password for a bearer token (OAuth2 password grant)."""
    user = authenticate(
        db=db,
        email=form.username,
        password=form.password,
        client=client_address(request),
        now=at,
        policy=settings.throttle,
    )
    if user is None:
        audit_refused_login(db, form.username)
        # returned, not raised: the failed attempt must be committed to count towards throttling
        return problem(
            401, "Log-in failed", "wrong e-mail or password", headers={"WWW-Authenticate": "Bearer"}
        )
    token = issue_token(db=db, user_id=user.id, kind="bearer", now=at, lifetime=settings.token_lifetime)
    return TokenResponse(
        access_token=token.secret,
        expires_in=int(settings.token_lifetime.total_seconds()),
        expires_at=token.expires_at,
    )


@router.post("/revoke", status_code=204, responses={401: {"model": Problem}})
def revoke_own_token(request: Request, principal: CurrentUser, db: SessionDep, at: NowDep) -> Response:
    """End the bearer token (or the browser session) this request was made with."""
    if principal.via == "bearer":
        secret = request.headers["authorization"].partition(" ")[2].strip()
    else:
        secret = request.cookies.get("bontrack_session", "")
    revoke_token(db=db, secret=secret, now=at)
    return Response(status_code=204)


@router.get("/me", response_model=UserRead, responses={401: {"model": Problem}})
def who_am_i(principal: CurrentUser) -> UserRead:
    """The logged-in user."""
    return principal.user
