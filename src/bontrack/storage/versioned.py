"""Versioned rows: the columns every record table shares, and a stored version read as a schema.

This module imports no writer (audit, bulk, records): those import it, so storage imports run one way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    exists,
    select,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from bontrack.schemas import UtcTime
from bontrack.storage.record_ids import RecordId
from bontrack.storage.record_json import RecordJson

__all__ = [
    "R",
    "Stored",
    "T",
    "VersionedRow",
    "is_newest",
    "newest_versions",
    "snapshot_of",
    "stored_version",
    "to_read",
]

T = TypeVar("T", bound=BaseModel)


class VersionedRow:
    """Columns shared by every record table (mixed into each domain's model).

    The primary key is (id, version, clinic_id): ``clinic_id`` is in it so the table can be
    distributed by clinic (Citus hash-distributes by one column, which every primary and unique
    key must hold; see the README, "Distributing by clinic"). It comes last so the key's index
    still serves every look-up by ``id`` (``latest``, ``is_newest``). A record's versions all
    carry its clinic (a correction copies it), so two writers adding the same version n+1 still
    collide on the key.
    """

    record_type: ClassVar[str]
    index_fields: ClassVar[tuple[str, ...]] = ()

    id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(RecordId, primary_key=True, index=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(RecordJson)  # packed on SQLite (storage.record_json)

    def snapshot(self) -> dict[str, Any]:
        """The version as the audit log and the export see it."""
        return {
            "type": self.record_type,
            "id": self.id,
            "version": self.version,
            "clinic_id": self.clinic_id,
            "withdrawn": self.withdrawn,
            "recorded_at": self.recorded_at.isoformat(),
            "recorded_by": self.recorded_by,
            "reason": self.reason,
            "data": self.data,
        }


def snapshot_of(record_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """``VersionedRow.snapshot`` of a version given as its column values (no row object needed)."""
    return {
        "type": record_type,
        "id": values["id"],
        "version": values["version"],
        "clinic_id": values["clinic_id"],
        "withdrawn": values["withdrawn"],
        "recorded_at": values["recorded_at"].isoformat(),
        "recorded_by": values["recorded_by"],
        "reason": values["reason"],
        "data": values["data"],
    }


R = TypeVar("R", bound=VersionedRow)


class Stored(BaseModel, Generic[T]):
    """One version of a record, as services return it (``XRead`` = ``Stored[XCreate]``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    clinic_id: str
    withdrawn: bool
    recorded_at: UtcTime
    recorded_by: str
    reason: str | None
    data: T


# What Stored.model_construct sets for a version given all its fields, set directly: its generic
# loop (aliases, defaults, post-init, extras: Stored has none of them) was most of a version's cost
# when read from plain columns. Checked by tests/storage/test_stored_version.py against
# model_construct, and skipped (model_construct itself) should Stored ever have any of them.
_STORED_FIELDS = frozenset(Stored.model_fields)
_LEAN = (
    not Stored.__pydantic_post_init__
    and not Stored.__pydantic_root_model__
    and Stored.model_config.get("extra") != "allow"
    and all(f.alias in (None, name) and f.validation_alias is None for name, f in Stored.model_fields.items())
)
_new = BaseModel.__new__
_set = object.__setattr__


def stored_version(**fields: Any) -> Stored[Any]:
    """``Stored.model_construct(**fields)`` (no validation), for every field of Stored given."""
    if not _LEAN or fields.keys() != _STORED_FIELDS:
        return Stored.model_construct(**fields)
    version: Stored[Any] = _new(Stored)
    _set(version, "__dict__", fields)
    _set(version, "__pydantic_fields_set__", set(_STORED_FIELDS))
    _set(version, "__pydantic_extra__", None)
    _set(version, "__pydantic_private__", None)
    return version


_READS = "_bontrack_reads"


def to_read(row: VersionedRow, schema: type[T]) -> Stored[T]:
    """A stored row as a typed read schema.

    A saved version never changes, and Stored is frozen, so the validated read is kept on the row
    and handed out again: services read the same records many times in one unit of work (the
    decision engine's context, each follow-up's session), and re-validating was most of the cost.
    """
    reads: dict[type[BaseModel], Stored[Any]] = row.__dict__.setdefault(_READS, {})
    cached = reads.get(schema)
    if cached is None:
        # the envelope comes from the stored row, already typed: only the content is validated
        cached = reads[schema] = stored_version(
            id=row.id,
            version=row.version,
            clinic_id=row.clinic_id,
            withdrawn=row.withdrawn,
            recorded_at=row.recorded_at,
            recorded_by=row.recorded_by,
            reason=row.reason,
            # stored content was validated when saved: read it back as it is (no input bounds)
            data=schema.model_validate(row.data, strict=False, context={"stored": True}),
        )
    return cached


def is_newest(row_cls: type[VersionedRow]) -> ColumnElement[bool]:
    """True for a row that is the newest version of its record (no later version exists): the
    one condition of "current", for queries that pick their own columns (bontrack.queries).

    The later version is looked for in the same clinic too (all of a record's versions are): the
    same answer, and a query Citus can run inside each clinic's shard (co-located)."""
    newer = aliased(row_cls)
    return ~exists().where(
        newer.id == row_cls.id, newer.clinic_id == row_cls.clinic_id, newer.version > row_cls.version
    )


def newest_versions(
    row_cls: type[R], *, among: ColumnElement[bool] | None = None, withdrawn: bool | None = False
) -> Select[R]:
    """The newest version of each record of ``row_cls`` (the one query of "current" versions):
    of the records whose ids satisfy ``among`` (e.g. ``row_cls.id.in_(...)``, so the database
    narrows first), not withdrawn (``withdrawn=True``: withdrawn; ``None``: either)."""
    query = select(row_cls).where(is_newest(row_cls))
    if among is not None:
        query = query.where(among)
    if withdrawn is not None:
        query = query.where(row_cls.withdrawn.is_(withdrawn))
    return query
