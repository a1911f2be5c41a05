"""Schemas of users and log-in."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bontrack.auth.passwords import MAX_LENGTH, MIN_LENGTH, RULE, password_problem
from bontrack.schemas import Id, Input, NoControls, UtcTime

Role = Literal["physician", "physical_therapist", "staff", "researcher", "admin"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked by password_problem (its messages never repeat the password), not by length limits here:
# pydantic's own messages would quote it.
Password = Annotated[str, Field(description=f"{RULE} ({MIN_LENGTH}-{MAX_LENGTH} characters)")]


def _strong(value: str, email: str | None) -> str:
    problem = password_problem(value, email=email)
    if problem is not None:
        raise PydanticCustomError("weak_password", problem)
    return value


class UserCreate(Input):
    # not stripped: a password's spaces are part of it (the e-mail is stripped by its validator)
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, hide_input_in_errors=True
    )

    email: Annotated[str, Field(min_length=3, max_length=320), NoControls]
    role: Role
    password: Password
    clinic_id: Id | None = Field(None, description="the clinic the user works at; null: every clinic")
    clinician_id: Id | None = Field(
        None, description="the user's own clinician record at that clinic (physicians: needed to override)"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (name@example.org)")
        return value.lower()

    @field_validator("clinic_id", "clinician_id", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str, info: ValidationInfo) -> str:
        email = info.data.get("email")
        return _strong(value, email if isinstance(email, str) else None)


class PasswordSet(Input):
    """A new password for an existing user (checked against the user's e-mail by the service)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, hide_input_in_errors=True
    )

    password: Password


class RoleSet(Input):
    """Another role for an existing user."""

    role: Role


class PasswordChange(Input):
    """A user's own new password: the current one, and the new one (twice, as a form asks for it).

    Judged by the service (bontrack.auth.own_password), which names each field that is wrong and
    never says a password back; none is stripped."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, hide_input_in_errors=True
    )

    current_password: str = Field(description="the password the user logs in with now")
    new_password: Password
    new_password_again: str | None = Field(
        None, description="the new password typed again; when given, it must be the same"
    )


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
