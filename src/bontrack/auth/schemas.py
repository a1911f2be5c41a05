"""Schemas of users and log-in."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bontrack.schemas import Id, Input, UtcTime

Role = Literal["physician", "physical_therapist", "staff", "researcher", "admin"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class UserCreate(Input):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    role: Role
    password: Annotated[str, Field(min_length=MIN_PASSWORD, max_length=200)]
    clinic_id: Id | None = Field(None, description="the clinic the user works at; null: every clinic")
    clinician_id: Id | None = Field(
        None, description="the user's own clinician record at that clinic (physicians: needed to override)"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (name@example.org)")
        return value.lower()


class UserRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    email: str
    role: Role
    clinic_id: str | None
    clinician_id: str | None = None
    active: bool
    created_at: UtcTime

    @property
    def actor(self) -> str:
        """How the user appears in the audit log."""
        return f"user:{self.email}"


class IssuedToken(BaseModel):
    """A new session or bearer token: the secret is shown once and stored only as a hash."""

    model_config = ConfigDict(frozen=True)

    secret: str
    csrf_token: str | None
    expires_at: UtcTime
