"""Adding an account, and changing one's own password: shared by the API and the pages.

A password is hashed before the transaction that stores it opens (the hash is slow on purpose,
and the write lock is not held while it runs); an account is added within the admin's own clinic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bontrack.auth import own_password, service
from bontrack.auth.login import begin_login, issue_token, revoke_token
from bontrack.auth.schemas import IssuedToken, PasswordChange, UserCreate, UserRead
from bontrack.errors import InputError
from bontrack.web.deps import Principal, in_transaction
from bontrack.web.settings import WebSettings


async def add_user(settings: WebSettings, principal: Principal, data: UserCreate, at: datetime) -> UserRead:
    """Add the account ``data`` describes, as ``principal``; returns it as read back."""
    password_hash = await run_in_threadpool(service.hash_password, data.password)
    return await in_transaction(
        settings,
        lambda db: service.create_user(
            db=db,
            actor=principal.actor,
            data=data,
            now=at,
            password_hash=password_hash,
            within=principal.user.clinic_id,
        ),
        clinic_id=principal.user.clinic_id,
    )


async def change_own_password(
    settings: WebSettings,
    principal: Principal,
    data: PasswordChange,
    *,
    client: str,
    at: datetime,
    kept: str,
    reissue: timedelta | None = None,
) -> tuple[int, IssuedToken | None]:
    """Change the logged-in user's own password: how many of their other sessions and API tokens
    ended, and, with ``reissue``, the new browser session that replaces the one it was made with.

    ``kept``: the secret of the session or bearer token the request was made with (it stays, or,
    with ``reissue`` (a session's lifetime), is replaced by a new session). Raises InputError
    naming each wrong field (nothing changed), Throttled once the account or the client has too
    many failures (a wrong current password counts as a failed log-in)."""
    email = principal.user.email
    attempt = None
    if data.current_password:  # counted, and committed before the password is checked
        attempt = await in_transaction(
            settings,
            lambda db: begin_login(db=db, email=email, client=client[:64], now=at, policy=settings.throttle),
        )
    again = data.new_password if data.new_password_again is None else data.new_password_again
    weighed = await run_in_threadpool(
        own_password.weigh,
        attempt,
        current=data.current_password,
        new=data.new_password,
        again=again,
        email=email,
    )

    def finish(db: Session) -> tuple[own_password.Changed, IssuedToken | None]:
        changed = own_password.finish_change(
            db=db, user_id=principal.user.id, attempt=attempt, weighed=weighed, keep=kept, now=at
        )
        if changed.ended is None or reissue is None:
            return changed, None
        revoke_token(db=db, secret=kept, now=at)
        return changed, issue_token(
            db=db, user_id=principal.user.id, kind="session", now=at, lifetime=reissue
        )

    changed, token = await in_transaction(settings, finish, clinic_id=principal.user.clinic_id)
    if changed.ended is None:
        raise InputError(changed.errors)
    return changed.ended, token
