"""Secrets never stored: Argon2id password hashes, SHA-256 token digests, and new random secrets.

Tokens are 256 random bits, so a fast hash (SHA-256) is enough for them; passwords get Argon2id.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher


class _Hasher:
    """The Argon2 parameters in use (argon2-cffi's defaults: Argon2id, RFC 9106 "low memory"
    profile, t=3, 64 MiB, p=4), and a hash to verify against when an e-mail is unknown."""

    def __init__(self) -> None:
        self.current = PasswordHasher()
        self._dummy: str | None = None

    def use(self, hasher: PasswordHasher) -> None:
        self.current, self._dummy = hasher, None

    def dummy(self) -> str:
        """Verified against when the e-mail is unknown, so a miss costs as long as a wrong password."""
        if self._dummy is None:
            self._dummy = self.current.hash("not a password of anyone")
        return self._dummy


HASHER = _Hasher()


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Hash with other Argon2 parameters from now on (tests use cheap ones to stay fast).

    Hashes made with other parameters still verify, and are re-hashed at the next log-in.
    """
    HASHER.use(hasher)


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    """An Argon2 hash of a password already checked against the rules (UserCreate checks them)."""
    return HASHER.current.hash(password)
