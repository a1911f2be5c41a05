"""The report's sessions read from the derived table of current sessions' fields
(bontrack.injections.fields_kept: typed columns) into DuckDB, as ``columnar.load_current`` reads
them from every version's JSON: the same rows and types, no JSON to parse."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from bontrack.injections.fields_kept import SESSION_PATHS, column
from bontrack.reports.columnar import Field, _count, _typed, run
from bontrack.reports.columnar_driver import _identifier as _quote
from bontrack.reports.columnar_scores import derived_stream
from bontrack.reports.stored_ids import as_uuid, id_select
from bontrack.storage.record_ids import id_literal

# The table's columns as the driver hands them over, none NULL (the SQLite driver types a column
# by its first rows: a NULL there would make it an integer), what is missing marked: '' for a
# missing text (a text there comes after a '=', so an empty text stays one) or date, a flag
# ``no_<name>`` for a number; the two booleans as 0 or 1
_NUMBERS = [column(p) for p, kind in SESSION_PATHS.items() if kind == "number"]
_TEXTS = [column(p) for p, kind in SESSION_PATHS.items() if kind in ("text", "date")]
_FLAGS = [column(p) for p, kind in SESSION_PATHS.items() if kind in ("flag", "present")]
SESSION_COLUMNS = pa.schema(
    [
        ("session_id", pa.string()),
        ("clinic_id", pa.string()),
        *((name, pa.string()) for name in _TEXTS),
        *((name, pa.int64()) for name in _FLAGS),
        *(f for name in _NUMBERS for f in ((f"no_{name}", pa.int64()), (name, pa.float64()))),
    ]
)


def _field_sql(path: str, kind: str) -> str:
    """How a field is read from those columns (as ``_typed`` reads it from the JSON text)."""
    name = _quote(column(path))
    if kind == "text":
        return f"(case when {name} = '' then null else substr({name}, 2) end)"
    if kind == "date":
        return _typed(f"nullif({name}, '')", None, "date")
    if kind == "number":
        return f"(case when {_quote('no_' + column(path))} = 1 then null else {name} end)"
    return f"({name} = 1)"  # flag, present


def _session_sql(dialect: str, clinic_id: str | None, *, flagged: bool = False) -> str:
    """The derived table's rows; ``flagged``: the ids as the driver reads them (reports.stored_ids)."""
    date = "date" if dialect == "sqlite" else "cast(date as text)"
    where = "" if clinic_id is None else f" where clinic_id = {id_literal(clinic_id, dialect)}"
    kind = dialect if flagged else "text"
    picks = [id_select("session_id", kind), id_select("clinic_id", kind)]
    picks += [
        f"coalesce({date}, '') as date" if n == "date" else f"coalesce('=' || {n}, '') as {n}" for n in _TEXTS
    ]
    picks += [f"(case when {n} then 1 else 0 end) as {n}" for n in _FLAGS]
    for n in _NUMBERS:
        picks += [f"(case when {n} is null then 1 else 0 end) as no_{n}", f"coalesce({n}, 0.0) as {n}"]
    return f"select {', '.join(picks)} from session_fields{where}"


def load_sessions(
    db: Session,
    clinic_id: str | None,
    fields: Sequence[Field],
    *,
    duck: duckdb.DuckDBPyConnection,
    into: str,
    committed: bool = False,
    ordered: bool = True,
    uuids: bool = False,
    references: Sequence[str] = (),
) -> int:
    """DuckDB table ``into`` as ``load_current`` makes it for the sessions (``id`` and the
    ``fields``, each one of ``SESSION_PATHS`` with its kind), read from the derived table of
    current sessions' fields (bontrack.injections.fields_kept) instead of every version's whole
    JSON; the same rows. Returns its number of rows. ``committed``: as ``load_current`` (a SQLite
    file then read by the ADBC driver, in a thread of its own); ``uuids`` and ``references``: as
    ``load_current``."""
    ids = ("session_id", "clinic_id") if uuids else ()  # (flagged: ``_session_sql``)
    stream, uuids = derived_stream(
        db, _session_sql, clinic_id, SESSION_COLUMNS, committed=committed, uuids=ids
    )
    picks = []
    for f in fields:
        if SESSION_PATHS.get(f.path) != f.kind:
            raise ValueError(f"session field {f.name} ({f.path}, {f.kind}) is not in the derived table")
        expr = _field_sql(f.path, f.kind)
        picks.append(f"{as_uuid(expr) if uuids and f.name in references else expr} as {_quote(f.name)}")
    order = " order by id, clinic_id" if ordered else ""
    duck.register("session_rows", stream)
    try:
        run(
            duck,
            f"create table {_quote(into)} as select {', '.join(['id', *picks])} from "
            f"(select *, session_id as id from session_rows){order}",
        )
    finally:
        duck.unregister("session_rows")
    return _count(duck, into)
