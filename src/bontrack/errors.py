"""Errors the registry reports to people: each names the field and what is allowed."""

from __future__ import annotations

from bontrack.clinical.plan import FieldError

__all__ = [
    "ConflictError",
    "FieldError",
    "InputError",
    "NotFoundError",
    "RefusedError",
    "RegistryError",
    "SchemaError",
]


class RegistryError(Exception):
    """Base of every error a registry command reports without a traceback."""


class InputError(RegistryError, ValueError):
    """Invalid input; ``errors`` names each bad field and what is allowed."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(map(str, errors)))

    @classmethod
    def one(cls, field: str, message: str) -> InputError:
        return cls([FieldError(field, message)])


class NotFoundError(InputError):
    """A referenced record does not exist (or is withdrawn, or belongs to another clinic)."""


class RefusedError(InputError):
    """The decision engine blocked a plan and no valid override was given."""


class ConflictError(InputError):
    """The change would leave other current records pointing at a withdrawn one."""


class SchemaError(RegistryError):
    """The database schema is not at the version this program expects."""
