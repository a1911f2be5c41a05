"""Reading a whole record table in batches, as plain column values, so an export holds one batch
in memory whatever the registry's size (no row objects, nothing kept in the session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, Text, select, type_coerce
from sqlalchemy.orm import Session

from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import VersionedRow

BATCH = 2_000


def _stream(db: Session, statement: Select[Any]) -> Iterator[dict[str, Any]]:
    writer_of(db).flush(db)  # what the unit of work holds (a bulk block's rows) is part of the registry
    for row in db.execute(statement, execution_options={"yield_per": BATCH}):
        yield dict(row._mapping)


def every_version(
    db: Session, row_cls: type[VersionedRow], *, raw_data: bool = False
) -> Iterator[dict[str, Any]]:
    """Every version of every record of ``row_cls`` as column values, by id then version;
    ``raw_data``: the content as the database gives it (SQLite: its JSON text or packed bytes,
    not decoded: ``storage.record_json.unpack``)."""
    table = row_cls.__table__  # type: ignore[attr-defined]
    columns = [type_coerce(c, Text).label(c.name) if raw_data and c.name == "data" else c for c in table.c]
    return _stream(db, select(*columns).order_by(table.c.id, table.c.version))


def current_versions(db: Session, row_cls: type[VersionedRow]) -> Iterator[dict[str, Any]]:
    """The newest version of each record not withdrawn, as column values, by id: read from the
    same ordered stream as ``every_version``, keeping the last version of each id (the versions of
    one record come together), so memory stays bounded (a GROUP BY of the newest versions made
    the database hold every record's key)."""
    newest: dict[str, Any] | None = None
    for values in every_version(db, row_cls):
        if newest is not None and newest["id"] != values["id"] and not newest["withdrawn"]:
            yield newest
        newest = values
    if newest is not None and not newest["withdrawn"]:
        yield newest
