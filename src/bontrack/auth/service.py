"""Users, log-in with throttling, and session / bearer tokens. Keyword-only; none commits.

Secrets (passwords, tokens) are never stored: passwords as Argon2id hashes, tokens as SHA-256
(a token is 256 random bits, so a fast hash is enough). Times are naive UTC, given by the caller
(the web app's clock), so expiry and throttling can be tested without waiting.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bontrack.actor import clinic_of
from bontrack.auth.hashing import HASHER

# Re-exported: the faces and the tests import these from here.
from bontrack.auth.hashing import digest as digest
from bontrack.auth.hashing import hash_password as hash_password
from bontrack.auth.hashing import new_secret as new_secret
from bontrack.auth.hashing import use_password_hasher as use_password_hasher
from bontrack.auth.login import IDLE_TOUCH as IDLE_TOUCH
from bontrack.auth.login import LoginAttempt as LoginAttempt
from bontrack.auth.login import PasswordCheck as PasswordCheck
from bontrack.auth.login import Throttled as Throttled
from bontrack.auth.login import ThrottlePolicy as ThrottlePolicy
from bontrack.auth.login import TokenOwner as TokenOwner
from bontrack.auth.login import (
    _throttle_key,
)
from bontrack.auth.login import authenticate as authenticate
from bontrack.auth.login import begin_login as begin_login
from bontrack.auth.login import check_password as check_password
from bontrack.auth.login import finish_login as finish_login
from bontrack.auth.login import issue_token as issue_token
from bontrack.auth.login import reserve_attempt as reserve_attempt
from bontrack.auth.login import revoke_token as revoke_token
from bontrack.auth.login import token_owner as token_owner
from bontrack.auth.login import user_read as _read
from bontrack.auth.models import AuthTokenRow, LoginThrottleRow, UserRow
from bontrack.auth.schemas import UserCreate, UserRead
from bontrack.errors import InputError, NotFoundError
from bontrack.storage.audit_log import log


def create_user(
    *,
    db: Session,
    actor: str,
    data: UserCreate,
    now: datetime,
    password_hash: str | None = None,
    within: str | None = None,
) -> UserRead:
    """Add a user; the e-mail is unique; a clinic, when given, must exist.

    ``password_hash``: hash_password(data.password), made before the transaction began (hashing is
    slow; a server should not hold the database meanwhile). Without it the password is hashed here.
    ``within``: the clinic of an administrator of one clinic, who adds users of that clinic only
    (not of another, nor of every clinic)."""
    if within is not None and data.clinic_id != within:
        raise InputError.one(
            "clinic_id", "an administrator of one clinic adds users of that clinic only: choose your clinic"
        )
    if db.scalar(select(UserRow.id).where(UserRow.email == data.email)) is not None:
        raise InputError.one("email", f"{data.email!r} already has an account")
    if data.clinic_id is not None:
        from bontrack.patients.service import get_clinic

        get_clinic(db=db, actor=actor, clinic_id=data.clinic_id)
    if data.clinician_id is not None:
        check_own_clinician(
            db=db, actor=actor, role=data.role, clinic_id=data.clinic_id, clinician_id=data.clinician_id
        )
    row = UserRow(
        id=str(uuid.uuid4()),
        email=data.email,
        role=data.role,
        clinic_id=data.clinic_id,
        clinician_id=data.clinician_id,
        password_hash=password_hash if password_hash is not None else HASHER.current.hash(data.password),
        active=True,
        created_at=now,
        created_by=actor,
    )
    db.add(row)
    db.flush()
    log(
        db,
        actor=actor,
        action="create",
        record_type="user",
        record_id=row.id,
        version=1,
        clinic_id=row.clinic_id,
        after={
            "email": row.email,
            "role": row.role,
            "clinic_id": row.clinic_id,
            "clinician_id": row.clinician_id,
        },
    )
    return _read(row)


# A user's role and the clinician-record role that person must have (users of other roles may be
# linked to any clinician record of their clinic).
_CLINICIAN_ROLE = {"physician": "physician", "physical_therapist": "physiotherapist"}


def check_own_clinician(
    *,
    db: Session,
    actor: str,
    role: str,
    clinic_id: str | None,
    clinician_id: str,
    user_id: str | None = None,
) -> None:
    """A user's own clinician record: of the user's clinic, a physician for a physician, and no
    other active account's (one person, one log-in: an override is signed by the clinician record
    of whoever is logged in). ``user_id``: the account being linked, if it exists already."""
    from bontrack.patients.service import get_clinician

    if clinic_id is None:
        raise InputError.one("clinician_id", "give the user's clinic too: a clinician record belongs to one")
    person = get_clinician(
        db=db, actor=actor, clinician_id=clinician_id, clinic_id=clinic_id, field="clinician_id"
    )
    wanted = _CLINICIAN_ROLE.get(role)
    if wanted is not None and person.data.role != wanted:
        raise InputError.one(
            "clinician_id",
            f"{person.data.name} is recorded as {person.data.role}; a {role.replace('_', ' ')}'s account "
            f"is linked to a clinician record of role {wanted}",
        )
    taken = _active_account_of(db, clinician_id, besides=user_id)
    if taken is not None:
        raise InputError.one(
            "clinician_id",
            f"{person.data.name}'s clinician record is already linked to the account {taken}: one person, "
            "one account (deactivate that account first if it is no longer used)",
        )


def _active_account_of(db: Session, clinician_id: str, *, besides: str | None) -> str | None:
    """The e-mail of an active account linked to this clinician record, other than ``besides``."""
    others = select(UserRow.email).where(UserRow.clinician_id == clinician_id, UserRow.active)
    if besides is not None:
        others = others.where(UserRow.id != besides)
    return db.scalar(others.order_by(UserRow.email).limit(1))


def link_clinician(*, db: Session, actor: str, email: str, clinician_id: str) -> UserRead:
    """Link an account to the clinician record of the same person (audited)."""
    row = db.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    if row is None:
        raise InputError.one("email", f"no user {email!r}")
    check_own_clinician(
        db=db, actor=actor, role=row.role, clinic_id=row.clinic_id, clinician_id=clinician_id, user_id=row.id
    )
    before = row.clinician_id
    row.clinician_id = clinician_id
    db.flush()
    log(
        db,
        actor=actor,
        action="update",
        record_type="user",
        record_id=row.id,
        version=1,
        clinic_id=row.clinic_id,
        after={"clinician_id": clinician_id, "before": before},
        detail="linked to a clinician record",
    )
    return _read(row)


def get_user_by_email(*, db: Session, email: str) -> UserRead | None:
    """The user with this e-mail, or None."""
    row = db.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    return _read(row) if row is not None else None


def list_users(*, db: Session, actor: str | None = None) -> list[UserRead]:
    """Every user, by e-mail (with ``actor``: the reading is audited, and an actor limited to one
    clinic lists that clinic's users only: not another clinic's, nor those of every clinic)."""
    query = select(UserRow).order_by(UserRow.email)
    scope = clinic_of(actor) if actor is not None else None
    if scope is not None:
        query = query.where(UserRow.clinic_id == scope)
    users = [_read(r) for r in db.scalars(query)]
    if actor is not None:
        log(db, actor=actor, action="read", record_type="user", detail=f"list of {len(users)} users")
    return users


def get_user(*, db: Session, user_id: str, actor: str | None = None) -> UserRead:
    """A user by id (with ``actor`` limited to one clinic: that clinic's users only; another's is
    answered as a missing one)."""
    row = db.get(UserRow, user_id)
    if row is None or not _manages(actor, row):
        raise NotFoundError.one("user_id", f"no user with id {user_id!r}")
    return _read(row)


def _manages(actor: str | None, row: UserRow) -> bool:
    """Whether ``actor`` may see and change this account: an actor of every clinic (or none given:
    the command line) any; an administrator of one clinic the accounts of that clinic only, not
    another clinic's nor those of every clinic (which would reach every clinic's patients)."""
    scope = clinic_of(actor) if actor is not None else None
    return scope is None or row.clinic_id == scope


# ---- managing accounts ------------------------------------------------------------------------


def hash_new_password(password: str, *, email: str) -> str:
    """Check a new password against the rules (InputError on ``password``, never quoting it) and
    hash it. Slow on purpose: call it before opening the transaction that stores the hash."""
    from bontrack.auth.passwords import password_problem

    problem = password_problem(password, email=email)
    if problem is not None:
        raise InputError.one("password", problem)
    return HASHER.current.hash(password)


def _user_row(db: Session, user_id: str, actor: str) -> UserRow:
    row = db.get(UserRow, user_id, with_for_update=True)
    if row is None or not _manages(actor, row):
        raise NotFoundError.one("user_id", f"no user with id {user_id!r}")
    return row


def find_user(*, db: Session, ref: str) -> UserRead:
    """A user by e-mail or id (what the command line accepts)."""
    text = ref.strip()
    row = db.scalar(select(UserRow).where(UserRow.email == text.lower()))
    if row is None:
        row = db.get(UserRow, text[:36])
    if row is None:
        raise NotFoundError.one(
            "user", f"no user with e-mail or id {text!r}; `bontrack user list` shows them"
        )
    return _read(row)


def _end_tokens(db: Session, user_id: str, now: datetime) -> int:
    """Revoke every token of the user not revoked yet; returns how many of them were still live."""
    open_tokens = (AuthTokenRow.user_id == user_id, AuthTokenRow.revoked_at.is_(None))
    live = db.scalar(
        select(func.count()).select_from(AuthTokenRow).where(*open_tokens, AuthTokenRow.expires_at > now)
    )
    db.execute(update(AuthTokenRow).where(*open_tokens).values(revoked_at=now))
    return int(live or 0)


def _audit_user(db: Session, *, actor: str, row: UserRow, detail: str, before: bool | None = None) -> None:
    log(
        db,
        actor=actor,
        action="update",
        record_type="user",
        record_id=row.id,
        clinic_id=row.clinic_id,
        before={"active": before} if before is not None else None,
        after={"email": row.email, "role": row.role, "active": row.active},
        detail=detail,
    )


def end_sessions(*, db: Session, actor: str, user_id: str, now: datetime) -> int:
    """End every browser session and API token of a user; returns how many were live."""
    row = _user_row(db, user_id, actor)
    ended = _end_tokens(db, row.id, now)
    _audit_user(db, actor=actor, row=row, detail=f"sessions and tokens ended ({ended})")
    return ended


def _active_admins(db: Session) -> int:
    """How many admins are active, their rows locked until the transaction ends: two admins
    deactivating each other at once (PostgreSQL, READ COMMITTED) would each count the other
    still active, and leave none."""
    active = select(UserRow.id).where(UserRow.role == "admin", UserRow.active).with_for_update()
    return len(db.scalars(active).all())


def _keep_last_admin(db: Session, row: UserRow) -> None:
    """Refuse (409) to take the admin role from the last active admin: deactivated or given
    another role, nobody would be left to manage accounts."""
    if row.active and row.role == "admin" and _active_admins(db) <= 1:
        from bontrack.errors import ConflictError

        raise ConflictError.one(
            "user", f"{row.email} is the only active admin; add or reactivate another admin first"
        )


def deactivate_user(*, db: Session, actor: str, user_id: str, now: datetime) -> UserRead:
    """Close an account: it can no longer log in, and its sessions and tokens end now. The user's
    records and audit entries stay (nothing is deleted); reactivate_user opens it again."""
    row = _user_row(db, user_id, actor)
    _keep_last_admin(db, row)
    was = row.active
    row.active = False
    ended = _end_tokens(db, row.id, now)
    db.flush()
    _audit_user(
        db, actor=actor, row=row, before=was, detail=f"deactivated; sessions and tokens ended ({ended})"
    )
    return _read(row)


def reactivate_user(*, db: Session, actor: str, user_id: str) -> UserRead:
    """Open a closed account again (with the password it had; sessions ended stay ended)."""
    row = _user_row(db, user_id, actor)
    if not row.active and row.clinician_id is not None:
        taken = _active_account_of(db, row.clinician_id, besides=row.id)
        if taken is not None:
            from bontrack.errors import ConflictError

            raise ConflictError.one(
                "user",
                f"{row.email} is linked to the same clinician record as the active account {taken}: "
                "one person, one account (deactivate that one first)",
            )
    was = row.active
    row.active = True
    db.flush()
    _audit_user(db, actor=actor, row=row, before=was, detail="reactivated")
    return _read(row)


def set_password(*, db: Session, actor: str, user_id: str, password_hash: str, now: datetime) -> int:
    """Store a new password (hashed beforehand by hash_new_password) and end every session and
    token of the user; returns how many were ended. Also lifts a log-in lock on the account."""
    row = _user_row(db, user_id, actor)
    row.password_hash = password_hash
    ended = _end_tokens(db, row.id, now)
    db.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == _throttle_key("account", row.email)))
    db.flush()
    _audit_user(db, actor=actor, row=row, detail=f"password changed; sessions and tokens ended ({ended})")
    return ended


def change_role(*, db: Session, actor: str, user_id: str, role: str, now: datetime) -> UserRead:
    """Give an account another role (the same person keeps the e-mail and password); every
    session and token of theirs ends, so the new role applies from their next log-in. The last
    active admin keeps the role; a physician's or physical therapist's linked clinician record
    must be of that profession (bontrack.auth.service.check_own_clinician)."""
    from bontrack.auth.models import ROLES
    from bontrack.errors import ConflictError

    row = _user_row(db, user_id, actor)
    if str(actor) == f"user:{row.email}":  # an admin making themself a researcher: locked out
        raise ConflictError.one("user", "you cannot change your own role; ask another admin")
    if role not in ROLES:
        allowed = ", ".join(r.replace("_", " ") for r in ROLES)
        raise InputError.one("role", f"{role[:40]!r} is not a role; allowed: {allowed}")
    if role == row.role:
        raise InputError.one(
            "role", f"{row.email} has the role {role.replace('_', ' ')} already; choose another"
        )
    _keep_last_admin(db, row)
    if row.clinician_id is not None:
        check_own_clinician(
            db=db,
            actor=actor,
            role=role,
            clinic_id=row.clinic_id,
            clinician_id=row.clinician_id,
            user_id=row.id,
        )
    before = row.role
    row.role = role
    ended = _end_tokens(db, row.id, now)
    db.flush()
    log(
        db,
        actor=actor,
        action="update",
        record_type="user",
        record_id=row.id,
        clinic_id=row.clinic_id,
        before={"role": before},
        after={"email": row.email, "role": row.role, "active": row.active},
        detail=f"role changed from {before} to {role}; sessions and tokens ended ({ended})",
    )
    return _read(row)
