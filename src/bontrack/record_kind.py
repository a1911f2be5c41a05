"""What a record type is: one ``RecordKind`` per type, declared by its domain's ``kind`` module.

A kind names the table its versions live in, the schemas it is created, stored, read and
corrected with, the id parameter the API names it by, its words for people, the roles that may
read and write it, the records it refers to, and the chart timeline list it shows in. The one
registry of kinds is ``bontrack.kinds``; the generic repository (``bontrack.repository``), the
withdrawal rule (``bontrack.corrections``), export and import (``bontrack.exchange``), the API's
correct/withdraw/history routes and the chart's correction pages are all built from it.

This module imports no service and no storage writer: the domains' ``kind`` modules, the registry
and the withdrawal rule import it, and the services import those.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from pydantic import BaseModel

from bontrack.auth.schemas import Role
from bontrack.roles import READ_CLINICAL
from bontrack.storage.versioned import R, T, VersionedRow


@dataclass(frozen=True, kw_only=True)
class RecordKind(Generic[R, T]):
    """One record type, as every part of the registry sees it (rows ``R``, stored as ``T``)."""

    name: str  # the record type (the audit log's and the export's name; the row's record_type)
    row: type[R]
    schema: type[T]  # what is stored (export and import check it)
    label: str  # words for people: "injection session"
    create: type[BaseModel] | None = None  # what a create carries (None: the stored schema)
    correction: type[BaseModel] | None = None  # what a correction carries (None: not corrected)
    read: Any = None  # the stored record as read (``Stored[schema]``)
    id_param: str = "id"  # the record id's name in the API path and the service's keyword
    collection: str | None = None  # the API path of its correct/withdraw/history routes
    read_roles: tuple[Role, ...] = READ_CLINICAL
    write_roles: tuple[Role, ...] = ()  # may create, correct and withdraw it
    # the roles that may write one record of it, when that depends on the record (None: write_roles);
    # given the record's data as stored (a mapping), the one rule of creating, correcting, withdrawing
    writers: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    # data field -> record type it must name (checked on import; withdrawal refused while named)
    references: tuple[tuple[str, str], ...] = ()
    patient_field: str | None = "patient_id"  # the data field naming its patient (None: it is one)
    timeline: str | None = None  # the chart timeline's list of it (None: not on the timeline)
    dated_by: str | None = None  # the data field a patient's records of it are ordered by
    describe: Callable[[Mapping[str, Any]], str] | None = None  # a record in a few words
    # the service's correction, "module:function", called with the kind's id_param, data, reason
    # (named, not imported: the services import the registry's withdrawal rule)
    update: str | None = None
    # the service's withdrawal, "module:function", called with the kind's id_param and reason, for
    # a kind whose withdrawal does more than mark the record (a session: its vials back in stock);
    # None: the generic one (bontrack.corrections.withdraw)
    withdraw: str | None = None
    authored: bool = False  # the correction takes the Author (the clinician signed in)
    notes: str = ""  # what the API documentation adds about correcting it

    def __post_init__(self) -> None:
        if self.row.record_type != self.name:
            raise ValueError(f"kind {self.name!r} has the rows of {self.row.record_type!r}")
        if (self.correction is None) != (self.update is None) or (
            self.collection is not None and self.correction is None
        ):
            raise ValueError(f"kind {self.name!r}: a correction needs its schema and its service")

    @property
    def words(self) -> str:
        """The label with its article: "an injection session"."""
        return f"{'an' if self.label[:1] in 'aeiou' else 'a'} {self.label}"

    @property
    def correctable(self) -> bool:
        return self.correction is not None

    def roles_for(self, data: Mapping[str, Any] | BaseModel | None = None) -> tuple[str, ...]:
        """The roles that may create, correct or withdraw this record (``data``; none given: any
        record of the kind, ``write_roles``). Enforced by the services (bontrack.writers)."""
        if self.writers is None or data is None:
            return self.write_roles
        stored = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        return self.writers(stored)

    def owner(self, row: VersionedRow) -> str | None:
        """The patient a record belongs to (a patient record: itself)."""
        if self.patient_field is None:
            return row.id
        value = row.data.get(self.patient_field)
        return None if value is None else str(value)

    def heading(self, data: Mapping[str, Any]) -> str:
        """One line naming a record: "Injection session · 2025-03-01 · onabotulinumtoxinA 60 U"."""
        day = data.get(self.dated_by) if self.dated_by else None
        words = self.describe(data) if self.describe else ""
        label = self.label[:1].upper() + self.label[1:]
        return " · ".join(str(p) for p in (label, day, words) if p)

    def dated_words(self, day: object) -> str:
        """A record by its kind and date, for a message: "injection session of 2025-03-01",
        "episode (pain onset date 2025-01-10)"."""
        if self.dated_by in (None, "date"):
            return f"{self.label} of {day}"
        return f"{self.label} ({str(self.dated_by).replace('_', ' ')} {day})"

    def updater(self) -> Callable[..., Any]:
        """The service function that corrects a record of this kind."""
        if self.update is None:
            raise LookupError(f"a {self.label} is not corrected")
        return _named(self.update)

    def withdrawer(self) -> Callable[..., Any] | None:
        """The service function that withdraws a record of this kind (None: the generic one)."""
        return None if self.withdraw is None else _named(self.withdraw)


def _named(path: str) -> Callable[..., Any]:
    """A service function named "module:function" (imported when first used)."""
    module, _, function = path.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return found


AnyKind = RecordKind[Any, Any]  # a kind of any table and schema (the registry's lists)
