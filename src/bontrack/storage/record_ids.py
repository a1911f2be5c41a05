"""The column type of record ids: 16 bytes on SQLite for a UUID, the text it is otherwise.

bontrack's ids are random UUIDs, written as their canonical text (lowercase ``8-4-4-4-12``, 36
characters). On SQLite such an id is stored as its 16 bytes (a BLOB), in the table and in every
index that holds it: a record's id, its clinic's and the ids it points to (patient, episode,
session, plan) were a fifth of a registry's bytes (docs/scale.md, "Bytes per patient"). Any other
id (one imported from elsewhere: uppercase, another length, not hexadecimal) is stored as the text
it is, so every id round-trips exactly; SQLite keeps a BLOB and a TEXT apart, so the two never
compare equal. On PostgreSQL nothing changes: the column stays ``varchar(36)`` text.

Every reader through SQLAlchemy gets the text back (the type's result processing). A reader of the
SQLite file without SQLAlchemy (the report's ADBC read, the benchmarks' copies) sees the BLOB and
decodes it (``id_text`` here; the report's reads: bontrack.reports.stored_ids).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import ColumnElement, String
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

__all__ = ["RecordId", "id_bytes", "id_literal", "id_text", "ids_stored_as_text", "is_uuid_text", "no_index"]

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_fullmatch = _CANONICAL.fullmatch


# True inside ``ids_stored_as_text``: a migration before 0018 working on a registry whose ids are
# all still text (it derives a table through today's models)
_as_text: ContextVar[bool] = ContextVar("bontrack_ids_as_text", default=False)


@contextmanager
def ids_stored_as_text() -> Iterator[None]:
    """Within the block, ids are bound as their text on SQLite too: for the migrations before
    0018, which derive tables through today's models from a registry whose ids are text."""
    token = _as_text.set(True)
    try:
        yield
    finally:
        _as_text.reset(token)


def is_uuid_text(value: object) -> bool:
    """True for a UUID's canonical text (what bontrack writes), the ids stored as 16 bytes."""
    return isinstance(value, str) and len(value) == 36 and _fullmatch(value) is not None


def id_bytes(value: Any) -> Any:
    """An id as SQLite stores it: a canonical UUID's 16 bytes, anything else as it is."""
    if type(value) is str and len(value) == 36 and _fullmatch(value) is not None:
        return bytes.fromhex(value.replace("-", ""))
    return value


def id_text(value: Any) -> Any:
    """An id as stored on SQLite, as its text again (16 bytes: the UUID's canonical text)."""
    if type(value) is bytes and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if isinstance(value, bytes | memoryview):  # not written by bontrack; shown, not lost
        return bytes(value).decode("utf-8", "replace")
    return value


class RecordId(TypeDecorator[str]):
    """A record's id (or a clinic's, or one a record points to): see the module."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return id_bytes(value) if dialect.name == "sqlite" and not _as_text.get() else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return id_text(value) if dialect.name == "sqlite" else value

    def literal_processor(self, dialect: Dialect) -> Callable[[Any], str] | None:
        # (not process_literal_param: its answer would be quoted as text by String's processor)
        name = dialect.name
        return lambda value: id_literal(value, name)


def id_literal(value: str, dialect: str) -> str:
    """An id as an SQL literal equal to it as stored (on SQLite a UUID's 16 bytes: X'...')."""
    stored = id_bytes(value) if dialect == "sqlite" and not _as_text.get() else value
    if isinstance(stored, bytes):
        return f"X'{stored.hex()}'"
    return "'" + str(stored).replace("'", "''") + "'"


def no_index(column: Any) -> ColumnElement[Any]:
    """On SQLite (only), the same value as ``column`` (SQLite's unary ``+``: any value, a BLOB too)
    but no index's column, so that SQLite's planner leaves that column's indexes out of a query's
    plan (where ``column || ''`` did that for text, it would turn a BLOB into a text)."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
