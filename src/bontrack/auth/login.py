"""Log-in: the atomic throttle, the three steps of a password log-in, and session / bearer tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, bindparam, case, delete, select, update
from sqlalchemy.orm import Session

from bontrack.auth.hashing import HASHER, digest, new_secret
from bontrack.auth.models import AuthTokenRow, LoginThrottleRow, UserRow
from bontrack.auth.schemas import IssuedToken, UserRead
from bontrack.current_reads import read_rows
from bontrack.errors import RegistryError


def user_read(row: UserRow) -> UserRead:
    """A user as the faces see it (no password hash)."""
    return UserRead.model_validate(row, from_attributes=True)


class Throttled(RegistryError):
    """Too many failed log-ins for this account or address; try again after ``retry_after``."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"too many failed log-ins; try again in {retry_after_seconds} seconds")

    def words(self) -> str:
        """For a person: "Too many failed log-ins. Try again in about 15 minutes." """
        minutes = max(1, round(self.retry_after_seconds / 60))
        return f"Too many failed log-ins. Try again in about {minutes} minute{'s' if minutes != 1 else ''}."


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures within ``window`` lock an account, or a client address, for a while."""

    max_per_account: int = 5
    max_per_client: int = 20
    window: timedelta = timedelta(minutes=15)


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
        HASHER.current.verify(attempt.password_hash or HASHER.dummy(), password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    if attempt.user_id is None or attempt.password_hash is None:
        return PasswordCheck(ok=False)
    new_hash = (
        HASHER.current.hash(password) if HASHER.current.check_needs_rehash(attempt.password_hash) else None
    )
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
    return user_read(row)


def authenticate(
    *, engine: Engine, email: str, password: str, client: str, now: datetime, policy: ThrottlePolicy
) -> UserRead | None:
    """A whole log-in in three steps, each in its own short transaction except the password check,
    which runs in none: the user if the password is right, None if not (counted).

    Raises Throttled before looking at the password once the limit is reached, so guessing stops
    even when a guess would be right. (The web app runs the same three steps, taking its turn at
    the database only for the first and the last.)
    """
    from bontrack.storage.engine import transaction

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


# The columns a presented token is checked by, and its user's: plain columns, no ORM objects (a
# look-up on every request; the ORM's identity map and entity loading cost most of it).
_TOKEN_COLUMNS = (
    AuthTokenRow.token_hash,
    AuthTokenRow.kind,
    AuthTokenRow.csrf_token,
    AuthTokenRow.created_at,
    AuthTokenRow.expires_at,
    AuthTokenRow.revoked_at,
    AuthTokenRow.last_used_at,
)
_USER_COLUMNS = (
    UserRow.id,
    UserRow.email,
    UserRow.role,
    UserRow.clinic_id,
    UserRow.clinician_id,
    UserRow.active,
    UserRow.created_at,
)
_TOKEN_LOOKUP = (
    select(*_TOKEN_COLUMNS, *_USER_COLUMNS)
    .join(UserRow, UserRow.id == AuthTokenRow.user_id)
    .where(AuthTokenRow.token_hash == bindparam("token_hash"), AuthTokenRow.kind == bindparam("kind"))
)
_USER_FIELDS = tuple(column.key for column in _USER_COLUMNS)


def token_owner(
    *,
    db: Session,
    secret: str,
    kind: str,
    now: datetime,
    idle: timedelta | None = None,
    touch: Callable[[str, datetime], None] | None = None,
) -> TokenOwner | None:
    """The active user of a live (not expired, not revoked) token of this kind, or None.

    With ``idle``, a token last presented longer ago than that is dead too (the idle timeout of
    browser sessions), and presenting it keeps it alive (its last use is recorded: by ``touch``
    (token hash, time) when given, as a read-only unit of work cannot write it)."""
    rows = read_rows(db, _TOKEN_LOOKUP, {"token_hash": digest(secret), "kind": kind})
    if not rows:
        return None
    found = rows[0]
    token_hash, token_kind, csrf_token, created_at, expires_at, revoked_at, last_used_at = found[:7]
    user = dict(zip(_USER_FIELDS, found[7:], strict=True))
    if revoked_at is not None or expires_at <= now or not user["active"]:
        return None
    if idle is not None:
        last = last_used_at or created_at
        if last + idle <= now:
            return None
        if now - last >= IDLE_TOUCH:
            if touch is None:
                db.execute(
                    update(AuthTokenRow).where(AuthTokenRow.token_hash == token_hash).values(last_used_at=now)
                )
            else:
                touch(token_hash, now)
    return TokenOwner(user=UserRead.model_validate(user), kind=token_kind, csrf_token=csrf_token)


def revoke_token(*, db: Session, secret: str, now: datetime) -> None:
    """End a session or bearer token (log-out); an unknown token is ignored."""
    row = db.get(AuthTokenRow, digest(secret))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
