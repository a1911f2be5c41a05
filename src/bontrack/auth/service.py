"""Users, log-in with throttling, and session / bearer tokens. Keyword-only; none commits.

Secrets (passwords, tokens) are never stored: passwords as Argon2id hashes, tokens as SHA-256
(a token is 256 random bits, so a fast hash is enough). Times are naive UTC, given by the caller
(the web app's clock), so expiry and throttling can be tested without waiting.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.orm import Session

from bontrack.audit.service import log
from bontrack.auth.models import AuthTokenRow, LoginThrottleRow, UserRow
from bontrack.auth.schemas import IssuedToken, UserCreate, UserRead
from bontrack.errors import InputError, NotFoundError, RegistryError

# argon2-cffi's defaults: Argon2id, RFC 9106 "low memory" profile (t=3, 64 MiB, p=4)
_hasher = PasswordHasher()
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Hash with other Argon2 parameters from now on (tests use cheap ones to stay fast).

    Hashes made with other parameters still verify, and are re-hashed at the next log-in.
    """
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def _dummy() -> str:
    """Verified against when the e-mail is unknown, so a miss costs as long as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a password of anyone")
    return _dummy_hash


class Throttled(RegistryError):
    """Too many failed log-ins for this account or address; try again after ``retry_after``."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"too many failed log-ins; try again in {retry_after_seconds} seconds")


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures within ``window`` lock an account, or a client address, for a while."""

    max_per_account: int = 5
    max_per_client: int = 20
    window: timedelta = timedelta(minutes=15)


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _read(row: UserRow) -> UserRead:
    return UserRead.model_validate(row, from_attributes=True)


def hash_password(password: str) -> str:
    """An Argon2 hash of a password already checked against the rules (UserCreate checks them)."""
    return _hasher.hash(password)


def create_user(
    *, db: Session, actor: str, data: UserCreate, now: datetime, password_hash: str | None = None
) -> UserRead:
    """Add a user; the e-mail is unique; a clinic, when given, must exist.

    ``password_hash``: hash_password(data.password), made before the transaction began (hashing is
    slow; a server should not hold the database meanwhile). Without it the password is hashed here."""
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
        password_hash=password_hash if password_hash is not None else _hasher.hash(data.password),
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
    *, db: Session, actor: str, role: str, clinic_id: str | None, clinician_id: str
) -> None:
    """A user's own clinician record: of the user's clinic, and a physician for a physician."""
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


def link_clinician(*, db: Session, actor: str, email: str, clinician_id: str) -> UserRead:
    """Link an account to the clinician record of the same person (audited)."""
    row = db.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    if row is None:
        raise InputError.one("email", f"no user {email!r}")
    check_own_clinician(db=db, actor=actor, role=row.role, clinic_id=row.clinic_id, clinician_id=clinician_id)
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
    """Every user, by e-mail (with ``actor``: the reading is audited)."""
    users = [_read(r) for r in db.scalars(select(UserRow).order_by(UserRow.email))]
    if actor is not None:
        log(db, actor=actor, action="read", record_type="user", detail=f"list of {len(users)} users")
    return users


def _throttle_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"[:400]


def reserve_attempt(*, db: Session, key: str, limit: int, now: datetime, window: timedelta) -> None:
    """Count one log-in attempt against ``key``; raise Throttled if that makes more than ``limit``
    within the window (the window starts at the first attempt and lasts ``window``).

    One statement, INSERT ... ON CONFLICT DO UPDATE ... RETURNING, counts and reads at once:
    on PostgreSQL the row is locked from the update to the commit, so of N concurrent attempts
    each sees a different count and exactly ``limit`` pass (SQLite has one writer anyway). The
    caller commits the count before it checks the password, so a guess that is still being
    checked already counts.
    """
    row = LoginThrottleRow
    stale = row.window_start <= now - window
    # SET sees the row as it was: both CASEs judge the old window
    counted = {
        "attempts": case((stale, 1), else_=row.attempts + 1),
        "window_start": case((stale, now), else_=row.window_start),
    }
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(row).values(key=key, window_start=now, attempts=1)
        upsert: Any = pg.on_conflict_do_update(index_elements=[row.key], set_=counted)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(row).values(key=key, window_start=now, attempts=1)
        upsert = lite.on_conflict_do_update(index_elements=[row.key], set_=counted)
    attempts, window_start = db.execute(upsert.returning(row.attempts, row.window_start)).one()
    if int(attempts) > limit:
        wait = window_start + window - now
        raise Throttled(max(1, int(wait.total_seconds()) + 1))


def _release_attempt(db: Session, key: str) -> None:
    """Take back one counted attempt (a right password from a shared address is no guess)."""
    row = LoginThrottleRow
    db.execute(update(row).where(row.key == key, row.attempts > 0).values(attempts=row.attempts - 1))


@dataclass(frozen=True)
class LoginAttempt:
    """A counted log-in attempt: what the password is checked against (outside any transaction)."""

    email: str
    client: str
    user_id: str | None
    password_hash: str | None  # None: no such active user


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking a password: right or not, and a new hash if the parameters changed."""

    ok: bool
    new_hash: str | None = None


def begin_login(
    *, db: Session, email: str, client: str, now: datetime, policy: ThrottlePolicy
) -> LoginAttempt:
    """Count the attempt (raises Throttled past the limit) and read the hash to check against.

    Commit this before calling check_password: the count must be seen by concurrent attempts,
    and the slow hash must not run inside a write transaction (SQLite has one writer).
    """
    email = email.strip().lower()[:320]
    reserve_attempt(
        db=db,
        key=_throttle_key("account", email),
        limit=policy.max_per_account,
        now=now,
        window=policy.window,
    )
    reserve_attempt(
        db=db, key=_throttle_key("client", client), limit=policy.max_per_client, now=now, window=policy.window
    )
    row = db.scalar(select(UserRow).where(UserRow.email == email))
    if row is None or not row.active:
        return LoginAttempt(email=email, client=client, user_id=None, password_hash=None)
    return LoginAttempt(email=email, client=client, user_id=row.id, password_hash=row.password_hash)


def check_password(attempt: LoginAttempt, password: str) -> PasswordCheck:
    """Argon2 verification (slow on purpose): no database, so run it outside any transaction.

    An unknown or inactive account is checked against a dummy hash and always fails, so it costs
    as long as a wrong password."""
    try:
        _hasher.verify(attempt.password_hash or _dummy(), password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    if attempt.user_id is None or attempt.password_hash is None:
        return PasswordCheck(ok=False)
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(attempt.password_hash) else None
    return PasswordCheck(ok=True, new_hash=new_hash)


def finish_login(*, db: Session, attempt: LoginAttempt, check: PasswordCheck) -> UserRead | None:
    """The user after a right password (the account's count cleared, the client's attempt given
    back); None after a wrong one (it stays counted). Also None when the account was deactivated
    or its password changed while the password was being checked."""
    if not check.ok or attempt.user_id is None:
        return None
    row = db.get(UserRow, attempt.user_id)
    if row is None or not row.active or row.password_hash != attempt.password_hash:
        return None
    if check.new_hash is not None:
        row.password_hash = check.new_hash
    db.execute(
        delete(LoginThrottleRow).where(LoginThrottleRow.key == _throttle_key("account", attempt.email))
    )
    _release_attempt(db, _throttle_key("client", attempt.client))
    db.flush()
    return _read(row)


def authenticate(
    *, engine: Engine, email: str, password: str, client: str, now: datetime, policy: ThrottlePolicy
) -> UserRead | None:
    """A whole log-in in three steps, each in its own short transaction except the password check,
    which runs in none: the user if the password is right, None if not (counted).

    Raises Throttled before looking at the password once the limit is reached, so guessing stops
    even when a guess would be right. (The web app runs the same three steps, taking its turn at
    the database only for the first and the last.)
    """
    from bontrack.db import transaction

    with transaction(engine) as db:
        attempt = begin_login(db=db, email=email, client=client[:64], now=now, policy=policy)
    check = check_password(attempt, password)
    with transaction(engine) as db:
        return finish_login(db=db, attempt=attempt, check=check)


def issue_token(*, db: Session, user_id: str, kind: str, now: datetime, lifetime: timedelta) -> IssuedToken:
    """A new browser session (with its CSRF token) or API bearer token for a user."""
    if kind not in ("session", "bearer"):
        raise ValueError(f"token kind must be session or bearer, got {kind!r}")
    secret = new_secret()
    csrf = new_secret() if kind == "session" else None
    db.add(
        AuthTokenRow(
            token_hash=digest(secret),
            kind=kind,
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
            revoked_at=None,
        )
    )
    db.flush()
    return IssuedToken(secret=secret, csrf_token=csrf, expires_at=now + lifetime)


@dataclass(frozen=True)
class TokenOwner:
    """Who a presented token belongs to, and the session's CSRF token (None for bearer)."""

    user: UserRead
    kind: str
    csrf_token: str | None


IDLE_TOUCH = timedelta(minutes=1)  # last_used_at is written at most this often per session


def token_owner(
    *, db: Session, secret: str, kind: str, now: datetime, idle: timedelta | None = None
) -> TokenOwner | None:
    """The active user of a live (not expired, not revoked) token of this kind, or None.

    With ``idle``, a token last presented longer ago than that is dead too (the idle timeout of
    browser sessions), and presenting it keeps it alive (its last use is recorded)."""
    found = db.execute(
        select(AuthTokenRow, UserRow)
        .join(UserRow, UserRow.id == AuthTokenRow.user_id)
        .where(AuthTokenRow.token_hash == digest(secret), AuthTokenRow.kind == kind)
    ).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or token.expires_at <= now or not user.active:
        return None
    if idle is not None:
        last = token.last_used_at or token.created_at
        if last + idle <= now:
            return None
        if now - last >= IDLE_TOUCH:
            token.last_used_at = now
    return TokenOwner(user=_read(user), kind=token.kind, csrf_token=token.csrf_token)


def revoke_token(*, db: Session, secret: str, now: datetime) -> None:
    """End a session or bearer token (log-out); an unknown token is ignored."""
    row = db.get(AuthTokenRow, digest(secret))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def get_user(*, db: Session, user_id: str) -> UserRead:
    """A user by id."""
    row = db.get(UserRow, user_id)
    if row is None:
        raise NotFoundError.one("user_id", f"no user with id {user_id!r}")
    return _read(row)


# ---- managing accounts ------------------------------------------------------------------------


def hash_new_password(password: str, *, email: str) -> str:
    """Check a new password against the rules (InputError on ``password``, never quoting it) and
    hash it. Slow on purpose: call it before opening the transaction that stores the hash."""
    from bontrack.auth.passwords import password_problem

    problem = password_problem(password, email=email)
    if problem is not None:
        raise InputError.one("password", problem)
    return _hasher.hash(password)


def _user_row(db: Session, user_id: str) -> UserRow:
    row = db.get(UserRow, user_id, with_for_update=True)
    if row is None:
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
    row = _user_row(db, user_id)
    ended = _end_tokens(db, row.id, now)
    _audit_user(db, actor=actor, row=row, detail=f"sessions and tokens ended ({ended})")
    return ended


def _active_admins(db: Session) -> int:
    return int(
        db.scalar(select(func.count()).select_from(UserRow).where(UserRow.role == "admin", UserRow.active))
        or 0
    )


def deactivate_user(*, db: Session, actor: str, user_id: str, now: datetime) -> UserRead:
    """Close an account: it can no longer log in, and its sessions and tokens end now. The user's
    records and audit entries stay (nothing is deleted); reactivate_user opens it again."""
    row = _user_row(db, user_id)
    if row.active and row.role == "admin" and _active_admins(db) <= 1:
        from bontrack.errors import ConflictError

        raise ConflictError.one(
            "user", f"{row.email} is the only active admin; add or reactivate another admin first"
        )
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
    row = _user_row(db, user_id)
    was = row.active
    row.active = True
    db.flush()
    _audit_user(db, actor=actor, row=row, before=was, detail="reactivated")
    return _read(row)


def set_password(*, db: Session, actor: str, user_id: str, password_hash: str, now: datetime) -> int:
    """Store a new password (hashed beforehand by hash_new_password) and end every session and
    token of the user; returns how many were ended. Also lifts a log-in lock on the account."""
    row = _user_row(db, user_id)
    row.password_hash = password_hash
    ended = _end_tokens(db, row.id, now)
    db.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == _throttle_key("account", row.email)))
    db.flush()
    _audit_user(db, actor=actor, row=row, detail=f"password changed; sessions and tokens ended ({ended})")
    return ended
