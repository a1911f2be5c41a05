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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bontrack.audit.service import log
from bontrack.auth.models import AuthTokenRow, LoginFailureRow, UserRow
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


def create_user(*, db: Session, actor: str, data: UserCreate, now: datetime) -> UserRead:
    """Add a user; the e-mail is unique; a clinic, when given, must exist."""
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
        password_hash=_hasher.hash(data.password),
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


def list_users(*, db: Session) -> list[UserRead]:
    """Every user, by e-mail."""
    return [_read(r) for r in db.scalars(select(UserRow).order_by(UserRow.email))]


def _failures_since(
    db: Session, column: InstrumentedAttribute[str], value: str, since: datetime
) -> tuple[int, datetime | None]:
    count, oldest = db.execute(
        select(func.count(), func.min(LoginFailureRow.at)).where(
            column == value,
            LoginFailureRow.at >= since,
        )
    ).one()
    return int(count), oldest


def check_throttle(*, db: Session, email: str, client: str, now: datetime, policy: ThrottlePolicy) -> None:
    """Raise Throttled when the account or the client address has failed too often lately."""
    since = now - policy.window
    for column, value, limit in (
        (LoginFailureRow.email, email.strip().lower(), policy.max_per_account),
        (LoginFailureRow.client, client, policy.max_per_client),
    ):
        count, oldest = _failures_since(db, column, value, since)
        if count >= limit and oldest is not None:
            wait = oldest + policy.window - now
            raise Throttled(max(1, int(wait.total_seconds()) + 1))


def authenticate(
    *, db: Session, email: str, password: str, client: str, now: datetime, policy: ThrottlePolicy
) -> UserRead | None:
    """The user if the password is right; None (and a failure counted) if not.

    Raises Throttled before looking at the password once the limit is reached, so guessing
    stops even when a guess would be right. Returns rather than raises on a wrong password so
    the caller's transaction keeps the counted failure.
    """
    email = email.strip().lower()[:320]
    check_throttle(db=db, email=email, client=client, now=now, policy=policy)
    row = db.scalar(select(UserRow).where(UserRow.email == email))
    try:
        _hasher.verify(row.password_hash if row is not None else _dummy(), password)
        ok = row is not None and row.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        db.add(LoginFailureRow(at=now, email=email, client=client[:64]))
        db.flush()
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    db.execute(delete(LoginFailureRow).where(LoginFailureRow.email == email))
    return _read(row)


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


def token_owner(*, db: Session, secret: str, kind: str, now: datetime) -> TokenOwner | None:
    """The active user of a live (not expired, not revoked) token of this kind, or None."""
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
