"""Tables of users and their credentials. Not clinical records: these rows may change state
(a token is revoked, a link is used), so they are plain tables, not versioned ones.

Distributed by clinic (Citus, see the README): only ``patient_links``, which belongs to one
clinic's patient, so ``clinic_id`` is in its keys. Users, tokens, the log-in throttle and the
server keys belong to no clinic (a user's ``clinic_id`` is the scope of an account, None for all
clinics): they are small, read on every request, and are Citus reference tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.storage.base import Base

ROLES = ("physician", "physical_therapist", "staff", "researcher", "admin")
TOKEN_KINDS = ("session", "bearer")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    # None: every clinic on this server (a single-clinic install needs no more)
    clinic_id: Mapped[str | None] = mapped_column(String(36))
    # the clinician record of the person behind the account (a physician overrides a block as
    # themself, never as someone else); None: not linked
    clinician_id: Mapped[str | None] = mapped_column(String(36), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class AuthTokenRow(Base):
    """A browser session (cookie) or an API bearer token; only the SHA-256 of the secret is kept."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # when the token was last presented (idle timeout of browser sessions); None: never since issued
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginThrottleRow(Base):
    """Log-in attempts within the current window, per account (``account:EMAIL``) or client address
    (``client:ADDRESS``). One row per key, counted up by one atomic INSERT ... ON CONFLICT DO
    UPDATE ... RETURNING before a password is checked, so concurrent guesses cannot all read the
    same count (see bontrack.auth.service.reserve_attempt)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer)


class PatientLinkRow(Base):
    """A one-time, expiring link through which a patient fills in their own forms."""

    __tablename__ = "patient_links"
    # the clinic in every key (distributed by clinic); the token's look-up uses the unique index
    __table_args__ = (UniqueConstraint("token_hash", "clinic_id", name="uq_patient_links_token_hash"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(36), index=True)
    episode_id: Mapped[str] = mapped_column(String(36))
    instruments: Mapped[list[str]] = mapped_column(JSON)
    session_id: Mapped[str | None] = mapped_column(String(36))
    weeks_after_session: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # withdrawn by the clinic before it was used (sent to the wrong phone, say): when, by whom, why
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class ServerKeyRow(Base):
    """Random keys made once per registry (the key that turns patient ids into pseudonyms)."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


AUTH_TABLES: tuple[type[Any], ...] = (UserRow, AuthTokenRow, LoginThrottleRow, PatientLinkRow, ServerKeyRow)
