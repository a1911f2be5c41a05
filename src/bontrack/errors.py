"""Errors reported to people, each naming the field and what is allowed, and the one translation
of pydantic's validation errors into them (used by the check contract, the services and the faces).

This module imports nothing of bontrack, so every layer (the pure core included) can use it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

__all__ = [
    "SECRET_FIELDS",
    "ConflictError",
    "FieldError",
    "InputError",
    "NotAllowedError",
    "NotFoundError",
    "PlanInputError",
    "RefusedError",
    "RegistryError",
    "SchemaError",
    "StaleError",
    "WithdrawnError",
    "field_errors",
    "field_path",
    "not_found_message",
    "reason_errors",
    "require_reason",
]

SECRET_FIELDS = frozenset({"password"})  # an error about one of these never quotes the value


@dataclass(frozen=True)
class FieldError:
    """One bad field: its path (``plan.sites[0].units``) and what is wrong or allowed."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


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


class PlanInputError(InputError):
    """Invalid input of a check or plan document (``bontrack check``, ``plan-dose``, billing)."""


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


class NotAllowedError(InputError):
    """The actor's role may not do this: a rule the service holds itself (not only a face's
    role check), so every face refuses it alike. The web answers 403 and audits it as a denied
    attempt (``bontrack.storage.audit_log.mark_denied``)."""


class RefusedError(InputError):
    """The decision engine blocked a plan and no valid override was given."""


class ConflictError(InputError):
    """The change would leave other current records pointing at a withdrawn one."""


class StaleError(ConflictError):
    """A correction or withdrawal made from a version that is no longer the current one: another
    version was saved since the form was opened (or at the same moment). Nothing is saved; the
    message says who saved the current version and when (``field``: "version")."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__([FieldError("version", message)])
        self.current_version = current_version


class SchemaError(RegistryError):
    """The database schema is not at the version this program expects."""


def reason_errors(reason: str, done: str) -> list[FieldError]:
    """The one "give a reason" check: a correction or withdrawal says why (``done``: "corrected")."""
    return [] if reason.strip() else [FieldError("reason", f"say why the record is {done} (non-empty text)")]


def require_reason(reason: str, done: str) -> None:
    """Raise InputError unless a reason is given (checked before anything is read or written)."""
    if errors := reason_errors(reason, done):
        raise InputError(errors)


QUOTE_CAP = 64  # characters of a value (or a field's name) quoted back in an error, then "…"


def cut(text: str, cap: int = QUOTE_CAP) -> str:
    """``text`` cut to ``cap`` characters and "…": a huge value given is not echoed whole."""
    return text if len(text) <= cap else text[:cap] + "…"


def field_path(parts: Iterable[int | str], prefix: str = "", empty: str = "(document)") -> str:
    """A pydantic location as a field path: ("sites", 0, "units") -> sites[0].units."""
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{cut(part)}" if out else cut(str(part)))
    return out or empty


def _message(err: Mapping[str, Any], known: Collection[str] | None, cap: int) -> str:
    msg = str(err["msg"])
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        if known is None:
            return "is not a known field"
        allowed = ", ".join(known) if len(err["loc"]) == 1 else "see the schema"
        return f"is not a known field; allowed: {allowed}"
    if kind == "value_error":  # our own validators' messages already name the value
        return cut(msg.removeprefix("Value error, "), 1000)  # (their lists of what is allowed kept)
    if err["loc"] and err["loc"][-1] in SECRET_FIELDS:
        return msg  # never quote a password back
    # a list that is too long is not quoted back (bontrack.schemas.at_most: its length is named)
    if "input" in err and kind not in ("model_type", "dict_type", "model_attributes_type", "too_many_items"):
        msg += f" (got {cut(repr(err['input']), cap)})"
    return msg


def field_errors(
    errors: ValidationError | Iterable[Mapping[str, Any]],
    *,
    prefix: str = "",
    known: Collection[str] | None = None,
    skip: Collection[str] = (),
    empty: str = "(document)",
    cap: int = QUOTE_CAP,
) -> list[FieldError]:
    """The one translation of pydantic's errors into FieldErrors naming each field.

    ``prefix`` goes before every path; ``known`` (the top-level field names) is listed when an
    unknown field is given; ``skip`` drops a leading location part (the web's "body", "query");
    ``empty`` names the whole document; ``cap`` shortens a quoted input to that many characters (and "…").
    """
    items = errors.errors(include_url=False) if isinstance(errors, ValidationError) else errors
    out = []
    for err in items:
        loc = tuple(err["loc"])
        if loc and loc[0] in skip:
            loc = loc[1:]
        out.append(FieldError(field_path(loc, prefix, empty), _message(err, known, cap)))
    return out
