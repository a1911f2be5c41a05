"""Adding an account, shared by the API and the users page.

The password is hashed before the transaction opens (the hash is slow on purpose, and the write
lock is not held while it runs); the account is then added within the admin's own clinic.
"""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool

from bontrack.auth import service
from bontrack.auth.schemas import UserCreate, UserRead
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
