"""Accounts (admins only): list, add, deactivate, reactivate, set a password, end sessions.

Every action is audited (by the auth service). Routes that hash a password do it in a worker
thread outside any transaction and outside the request's turn at the database: the caller is
looked up, and the result written, in short transactions of their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bontrack.auth import service
from bontrack.auth.schemas import PasswordSet, RoleSet, UserCreate, UserRead
from bontrack.errors import ConflictError
from bontrack.roles import not_allowed
from bontrack.web.accounts import add_user
from bontrack.web.api.common import ERRORS, RecordId
from bontrack.web.deps import ADMIN, NowDep, Principal, SettingsDep, current_user_briefly, in_transaction
from bontrack.web.problems import ProblemError

router = APIRouter(prefix="/api/users", tags=["users"], responses={**ERRORS, 409: ERRORS[400]})


async def admin_briefly(principal: Annotated[Principal, Depends(current_user_briefly)]) -> Principal:
    if principal.role not in ADMIN:
        # the words of every other route's 403 (bontrack.web.deps.check_role)
        raise ProblemError(403, "Not allowed", not_allowed(principal.role, ADMIN))
    return principal


Admin = Annotated[Principal, Depends(admin_briefly)]


class SessionsEnded(BaseModel):
    """A user after their sessions and API tokens were ended, and how many were live."""

    user: UserRead
    sessions_ended: int


@router.get("", response_model=list[UserRead])
async def list_users(principal: Admin, settings: SettingsDep) -> list[UserRead]:
    """Every user, by e-mail (the reading is audited)."""
    return await in_transaction(
        settings,
        lambda db: service.list_users(db=db, actor=principal.actor),
        clinic_id=principal.user.clinic_id,
    )


@router.post("", status_code=201, response_model=UserRead)
async def create_user(data: UserCreate, principal: Admin, settings: SettingsDep, at: NowDep) -> UserRead:
    """Add a user. The password: at least 12 characters, and not easy to guess (a common
    password, a word or name on its own, a run of keys, a repeat, the e-mail are refused)."""
    return await add_user(settings, principal, data, at)


@router.post("/{user_id}/deactivate", response_model=UserRead)
async def deactivate_user(user_id: RecordId, principal: Admin, settings: SettingsDep, at: NowDep) -> UserRead:
    """Close an account: it can no longer log in, and every session and API token of it ends now.
    Its records and audit entries stay. Your own account, and the last active admin, cannot be."""
    if user_id == principal.user.id:
        raise ConflictError.one("user_id", "you cannot deactivate your own account; ask another admin")
    return await in_transaction(
        settings,
        lambda db: service.deactivate_user(db=db, actor=principal.actor, user_id=user_id, now=at),
        clinic_id=principal.user.clinic_id,
    )


@router.post("/{user_id}/reactivate", response_model=UserRead)
async def reactivate_user(user_id: RecordId, principal: Admin, settings: SettingsDep) -> UserRead:
    """Open a closed account again (with the password it had)."""
    return await in_transaction(
        settings,
        lambda db: service.reactivate_user(db=db, actor=principal.actor, user_id=user_id),
        clinic_id=principal.user.clinic_id,
    )


@router.post("/{user_id}/password", response_model=SessionsEnded)
async def set_password(
    user_id: RecordId, data: PasswordSet, principal: Admin, settings: SettingsDep, at: NowDep
) -> SessionsEnded:
    """Set a new password (same rules as for a new user); every session and token of the user ends."""
    user = await in_transaction(
        settings,
        lambda db: service.get_user(db=db, user_id=user_id, actor=principal.actor),
        clinic_id=principal.user.clinic_id,
    )
    password_hash = await run_in_threadpool(service.hash_new_password, data.password, email=user.email)

    def store(db: Session) -> SessionsEnded:
        ended = service.set_password(
            db=db, actor=principal.actor, user_id=user_id, password_hash=password_hash, now=at
        )
        return SessionsEnded(
            user=service.get_user(db=db, user_id=user_id, actor=principal.actor), sessions_ended=ended
        )

    return await in_transaction(settings, store, clinic_id=principal.user.clinic_id)


@router.post("/{user_id}/end-sessions", response_model=SessionsEnded)
async def end_sessions(
    user_id: RecordId, principal: Admin, settings: SettingsDep, at: NowDep
) -> SessionsEnded:
    """End every browser session and API token of the user (they must log in again)."""

    def end(db: Session) -> SessionsEnded:
        ended = service.end_sessions(db=db, actor=principal.actor, user_id=user_id, now=at)
        return SessionsEnded(
            user=service.get_user(db=db, user_id=user_id, actor=principal.actor), sessions_ended=ended
        )

    return await in_transaction(settings, end, clinic_id=principal.user.clinic_id)


@router.post("/{user_id}/role", response_model=UserRead)
async def change_role(
    user_id: RecordId, data: RoleSet, principal: Admin, settings: SettingsDep, at: NowDep
) -> UserRead:
    """Give the user another role (same e-mail and password); every session and API token of
    theirs ends. Your own role, and the last active admin's, cannot be changed."""
    return await in_transaction(
        settings,
        lambda db: service.change_role(db=db, actor=principal.actor, user_id=user_id, role=data.role, now=at),
        clinic_id=principal.user.clinic_id,
    )
