"""A user changes their own password: the current one, checked as a log-in checks it, and a new
one under the same rules as everywhere (bontrack.auth.passwords).

Three steps, as a log-in (bontrack.auth.login): count the attempt against the account's and the
client's log-in throttle and read the stored hash (``begin_login``, its own short transaction:
a wrong current password counts towards the same lock-out as a wrong log-in, so this form
cannot be used to guess); check the current password, judge the new one and hash it (``weigh``,
slow on purpose: in no transaction); then store it, end every other session and API token of
the user and audit the change (``finish_change``). Errors name the field; nothing is said
back of any password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bontrack.auth.hashing import HASHER, digest
from bontrack.auth.login import LoginAttempt, PasswordCheck, check_password, finish_login
from bontrack.auth.models import AuthTokenRow, UserRow
from bontrack.auth.passwords import password_problem
from bontrack.errors import FieldError
from bontrack.storage.audit_log import Attempt, log, log_denied

WRONG = "is not right"
EMPTY = "is empty: type the password you log in with now"
SAME = "is the same as the current one: choose another"
DIFFER = "differ: type the same new password in both boxes"


@dataclass(frozen=True)
class Weighed:
    """The current password checked, the new one judged, and its hash when all is well."""

    check: PasswordCheck
    errors: list[FieldError] = field(default_factory=list)
    new_hash: str | None = None


def weigh(attempt: LoginAttempt | None, *, current: str, new: str, again: str, email: str) -> Weighed:
    """Check the current password against ``attempt`` (None: none was typed, and nothing was
    counted), judge the new one, and hash it if every field is right. Slow on purpose (Argon2,
    twice): run it outside any transaction."""
    errors: list[FieldError] = []
    check = PasswordCheck(ok=False)
    if attempt is None:
        errors.append(FieldError("current_password", EMPTY))
    else:
        check = check_password(attempt, current)
        if not check.ok:
            errors.append(FieldError("current_password", WRONG))
    problem = password_problem(new, email=email)
    if problem is not None:
        errors.append(FieldError("new_password", problem))
    elif current and new == current:
        errors.append(FieldError("new_password", SAME))
    if again != new:
        errors.append(FieldError("new_password_again", DIFFER))
    if errors:
        return Weighed(check=check, errors=errors)
    return Weighed(check=check, new_hash=HASHER.current.hash(new))


@dataclass(frozen=True)
class Changed:
    """How many other sessions and tokens ended (None: nothing changed), or what was wrong."""

    ended: int | None
    errors: list[FieldError] = field(default_factory=list)


def finish_change(
    *, db: Session, user_id: str, attempt: LoginAttempt | None, weighed: Weighed, keep: str, now: datetime
) -> Changed:
    """Store the new hash, end every session and API token of the user except ``keep`` (the
    secret of the one the change was made with), and audit it (never the password).

    A right current password clears the account's count, as a log-in does (also when another
    field was wrong); a wrong one stays counted and is audited as a denied attempt. Nothing is
    raised, so that both are committed: the caller reports ``errors``."""
    errors = list(weighed.errors)
    user = None
    if attempt is not None and attempt.user_id == user_id:
        user = finish_login(db=db, attempt=attempt, check=weighed.check)
    if attempt is not None and user is None:
        row = db.get(UserRow, user_id)
        clinic = row.clinic_id if row is not None else None
        log_denied(
            db,
            Attempt(f"user:{attempt.email}", record_type="user", record_id=user_id, clinic_id=clinic),
            action="update",
            detail="own password not changed: wrong current password",
        )
        if not any(e.field == "current_password" for e in errors):
            # right, but the password changed (or the account closed) while it was checked
            errors.insert(0, FieldError("current_password", WRONG))
    if errors or weighed.new_hash is None:
        return Changed(ended=None, errors=errors)
    row = db.get(UserRow, user_id, with_for_update=True)
    assert row is not None  # finish_login found it, active
    row.password_hash = weighed.new_hash
    others = (
        AuthTokenRow.user_id == user_id,
        AuthTokenRow.revoked_at.is_(None),
        AuthTokenRow.token_hash != digest(keep),
    )
    live = db.scalar(
        select(func.count()).select_from(AuthTokenRow).where(*others, AuthTokenRow.expires_at > now)
    )
    db.execute(update(AuthTokenRow).where(*others).values(revoked_at=now))
    db.flush()
    ended = int(live or 0)
    log(
        db,
        actor=f"user:{row.email}",
        action="update",
        record_type="user",
        record_id=row.id,
        clinic_id=row.clinic_id,
        after={"email": row.email, "role": row.role, "active": row.active},
        detail=f"own password changed by the user; other sessions and tokens ended ({ended})",
    )
    return Changed(ended=ended)
