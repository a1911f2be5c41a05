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
    "WithdrawnError",
    "not_found_message",
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


class WithdrawnError(NotFoundError):
    """The record exists but is withdrawn; ``clinic_id`` lets a face that serves several clinics
    answer a user of another clinic as if it did not exist (bontrack.web.deps.get_db)."""

    def __init__(self, field: str, record_type: str, record_id: str, clinic_id: str) -> None:
        super().__init__([FieldError(field, f"{record_type} {record_id!r} is withdrawn")])
        self.field = field
        self.record_type = record_type
        self.record_id = record_id
        self.clinic_id = clinic_id


def not_found_message(record_type: str, record_id: str) -> str:
    """What every face says of a record that is not there (or that the user may not see)."""
    return f"no {record_type} with id {record_id!r}"


class RefusedError(InputError):
    """The decision engine blocked a plan and no valid override was given."""


class ConflictError(InputError):
    """The change would leave other current records pointing at a withdrawn one."""


class SchemaError(RegistryError):
    """The database schema is not at the version this program expects."""
