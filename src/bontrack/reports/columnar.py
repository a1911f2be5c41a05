"""The report's rows read in bulk, in columns: from the database (SQLite or PostgreSQL) or from a
Parquet export folder, into DuckDB, which picks the fields and the current versions.

From a database, the driver's cursor hands over the rows of every version (id, version,
withdrawn, clinic, the JSON text) in batches of ``BATCH`` rows; each batch becomes an Arrow table
(DuckDB reads it in place, no copy), and DuckDB's JSON functions pick the named fields out of the
text in C++, so only the picked fields are kept (the JSON text of a large registry never is held
whole). DuckDB then keeps each record's newest version, drops it when withdrawn (and, with a
clinic, keeps that clinic's), and sorts by id, as ``queries.current_frame`` does in SQL.

From Parquet (``bontrack export --format parquet DIR``), the export already holds only current
versions in typed columns (nested objects as JSON text); the same fields are picked from them
(``reports.columnar_parquet``).

Fields are typed as the analysis needs them: text, number (double; not a number: missing),
date (ISO text clamped to 1900-01-01..2100-12-31 as ``queries.dates_series`` does, then a
timestamp), flag (JSON true; anything else False), present (the value is there and not null),
measure (a score: a number; NULL when missing or null, NaN when there but not a number).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from bontrack.dates import EARLIEST, LATEST
from bontrack.records import VersionedRow
from bontrack.reports.columnar_driver import _identifier as _quote
from bontrack.reports.columnar_driver import _literal, pg_batches, prefetched, shared_snapshot
from bontrack.reports.scratch import scratch_folder
from bontrack.reports.stored_ids import (
    as_uuid,
    data_select,
    id_select,
    id_texts_of,
    with_data_text,
    with_id_texts,
    with_id_uuids,
)
from bontrack.storage.record_json import unpack_text

Kind = Literal["text", "number", "date", "flag", "present", "measure"]
BATCH = 50_000  # rows a fetch hands to DuckDB: bounded memory whatever the registry's size
# rows the driver hands over at a time from a derived table (typed columns, a small object of
# scores: ~0.1 KB a row, not a version's whole JSON): fewer batches, each with its own Arrow
# steps (at 1,000,000 patients the outcomes' 12.8 million rows: 22-25 s of CPU in batches of
# 50,000, 19.5-20 s in batches of 200,000)
DERIVED_BATCH = 200_000
# DuckDB's own memory (past it: its temporary folder): while the rows are read, and then while the
# report's analysis holds its frames beside DuckDB's tables. At 1,000,000 patients the read's
# tables take 2.5 GB: at 2 GB, 0.5 GB of them went to the folder and every coding statement read
# them back (the read 32-36 s; at 3 GB 26-29 s, its peak 3.2 GB). Beside the analysis's frames
# 1.25 GB (at 1 GB its joins spilled: the analysis 35 s, at 1.25 GB 34 s and a peak of 3.6 GB;
# at 1.5 GB 32 s and 3.75 GB, too near the 4 GB aim)
MEMORY = "3GB"
ANALYSIS_MEMORY = "1.25GB"
LOCK_WAIT_MS = 5000  # how long the driver's read waits for a lock (as storage.engine's connections)


@dataclass(frozen=True)
class Field:
    """A field of a record (``path``: dotted, inside the record's content) as column ``name``."""

    name: str
    path: str
    kind: Kind = "text"


def _typed(text: str, json_value: str | None, kind: Kind) -> str:
    """The column ``kind`` from an expression giving the value as text (NULL: missing or null);
    ``json_value`` gives it as JSON (for flags: only a JSON true is True)."""
    if kind == "number":
        return f"try_cast({text} as double)"
    if kind == "measure":  # a score: NULL when missing or null, NaN when there but not a number
        number = f"coalesce(try_cast({text} as double), 'NaN'::double)"
        return f"(case when {text} is null then null else {number} end)"
    if kind == "date":
        low, high = _literal(EARLIEST.isoformat()), _literal(LATEST.isoformat())
        # (DuckDB's greatest() passes NULL over: a missing date must stay missing, as pandas' NaT)
        clamped = f"strptime(least(greatest({text}, {low}), {high}), '%Y-%m-%d')"
        return f"(case when {text} is null then null else {clamped} end)"
    if kind == "flag":
        if json_value is None:
            return f"coalesce({text} = 'true', false)"
        return f"coalesce(json_type({json_value}) = 'BOOLEAN' and {text} = 'true', false)"
    if kind == "present":
        return f"({text} is not null)"
    return text


def _json_picks(fields: Sequence[Field], columns: Sequence[str]) -> str:
    """The select over a ``batch`` of versions picking ``fields`` out of its JSON ``data``: one
    parse of each document for all the fields (DuckDB's list form of json_extract_string, or,
    when a flag must tell a JSON true from the text "true", of json_extract, each value then
    read as text from its own small JSON)."""
    extra = "".join(f", {c}" for c in columns)
    envelope = f"id, version, cast(withdrawn as boolean) as withdrawn, clinic_id{extra}"
    paths = ", ".join(_literal("$." + f.path) for f in fields)
    picks = []
    if any(f.kind == "flag" for f in fields):
        inner = f"select {envelope}, json_extract(data, [{paths}]) as _j"
        for i, f in enumerate(fields):
            if f.kind == "flag":  # only a JSON true: its JSON text is the bare word
                picks.append(f"coalesce(cast(_j[{i + 1}] as varchar) = 'true', false) as {_quote(f.name)}")
            else:
                text = f"json_extract_string(_j[{i + 1}], '$')"
                picks.append(f"{_typed(text, None, f.kind)} as {_quote(f.name)}")
    else:
        inner = f"select {envelope}, json_extract_string(data, [{paths}]) as _s"
        picks = [f"{_typed(f'_s[{i + 1}]', None, f.kind)} as {_quote(f.name)}" for i, f in enumerate(fields)]
    return f"select id, version, withdrawn, clinic_id, {', '.join(picks)}{extra} from ({inner} from batch)"


def _arrow_batch(rows: Sequence[Sequence[Any]], extra: Sequence[str]) -> pa.Table:
    names = ["id", "version", "withdrawn", "clinic_id", "data", *extra]
    columns = list(zip(*rows, strict=True)) or [() for _ in names]
    arrays = [
        pa.array(columns[0], pa.string()),
        pa.array(columns[1], pa.int64()),
        pa.array([bool(w) for w in columns[2]], pa.bool_()),
        pa.array(columns[3], pa.string()),
        pa.array(columns[4], pa.string()),
        *(pa.array(c) if c else pa.array([], pa.string()) for c in columns[5:]),
    ]
    return pa.table(dict(zip(names, arrays, strict=True)))


def _sqlite_file(db: Session) -> Path | None:
    """The SQLite database's file, when the registry is one (not in memory)."""
    bind = db.get_bind()
    url = bind.engine.url
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).resolve()


def _adbc_batches(path: Path, sql: str, rows: int = BATCH) -> Iterator[pa.Table]:
    """The rows of ``sql`` on the SQLite file, read by the ADBC driver straight into Arrow (in C:
    no Python object per row), ``rows`` at a time, on a read-only connection of its own."""
    import adbc_driver_sqlite.dbapi as adbc

    with adbc.connect(f"file:{quote(str(path))}?mode=ro") as conn, conn.cursor() as cursor:
        # (two such reads at once, or one beside a writer, may find the file briefly locked, as
        # the engine's connections may: they wait as long, not fail at once)
        cursor.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        cursor.fetchall()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
        cursor.execute(sql)
        for batch in cursor.fetch_record_batch():
            yield pa.Table.from_batches([batch])


def _cursor_batches(db: Session, sql: str, extra: Sequence[str]) -> Iterator[pa.Table]:
    """The rows of ``sql`` through the session's own connection, as Arrow (``fetched``)."""
    empty = True
    for rows in fetched(db, sql, "bontrack_columnar"):
        empty = False
        yield _arrow_batch([(*r[:4], unpack_text(r[4]), *r[5:]) for r in id_texts_of(rows, (0, 3))], extra)
    if empty:
        yield _arrow_batch([], extra)


def fetched(db: Session, sql: str, cursor_name: str) -> Iterator[Sequence[Any]]:
    """The rows of ``sql`` through the session's own connection (PostgreSQL: a server-side
    cursor named ``cursor_name``), ``BATCH`` rows at a time."""
    conn = db.connection()
    raw: Any = conn.connection
    if conn.dialect.name == "postgresql":
        cursor = raw.driver_connection.cursor(name=cursor_name)
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            yield rows
    finally:
        cursor.close()


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one report's read: in memory, within ``MEMORY`` (past it DuckDB
    moves its tables' blocks to a temporary folder of its own, removed when it closes; the
    analysis then keeps it within ``ANALYSIS_MEMORY``: ``analysis_memory``)."""
    duck = duckdb.connect()
    folder = scratch_folder(f"{id(duck):x}")  # (those left by killed reports removed first)
    run(duck, f"set temp_directory = {_literal(str(folder))}")
    run(duck, f"set memory_limit = {_literal(MEMORY)}")
    return duck


def load_current(
    db: Session,
    row_cls: type[VersionedRow],
    clinic_id: str | None,
    fields: Sequence[Field],
    *,
    duck: duckdb.DuckDBPyConnection,
    into: str,
    columns: Sequence[str] = (),
    committed: bool = False,
    ordered: bool = True,
    uuids: bool = False,
    references: Sequence[str] = (),
) -> int:
    """DuckDB table ``into``: ``id``, the ``fields`` and the row ``columns`` of the current,
    non-withdrawn version of every record (of one clinic, or all), in the order of id (rows read
    in the table's order). Returns its number of rows. Not audited: the caller audits.

    Rows are read through the session's connection (PostgreSQL: a server-side cursor), so the
    transaction's own writes are seen. ``committed``: the caller's transaction has written
    nothing yet, so a SQLite file may be read by the ADBC driver on a read-only connection of its
    own (straight into Arrow, no Python object per row, in a thread of its own while DuckDB
    picks the fields of the batch before): it sees the same rows, as the session's transaction
    holds SQLite's write lock from its start (storage.engine: BEGIN IMMEDIATE). PostgreSQL's
    rows are then read by its ADBC driver in the session's exported snapshot, as its role and
    clinic (reports.columnar_driver), unless the transaction has written after all.

    Only the picked fields of each version are kept (typed columns in DuckDB, not Python
    objects); DuckDB then keeps each record's newest version (within its clinic), drops it when
    withdrawn (and, with a clinic, keeps that clinic's), and orders by id (``ordered``; else the
    rows stay in the order read: no sort of the table, whose readers order what they need).

    ``uuids`` (a SQLite file read by the driver, ``committed``): the ids, and the ``references``
    (fields holding another record's id), as DuckDB UUIDs, not text (reports.stored_ids:
    ``NotUuid``, or DuckDB's error of ``NOT_UUID``, when one is not)."""
    table = row_cls.__table__.name  # type: ignore[attr-defined]
    dialect = db.get_bind().dialect.name
    data = "data" if dialect == "sqlite" else "cast(data as text)"
    extra = "".join(f", {c}" for c in columns)
    # (through the session's connection SQLite hands over text or the packed bytes: _cursor_batches)
    sql = f"select id, version, withdrawn, clinic_id, {data} as data{extra} from {table}"
    path = _sqlite_file(db) if committed else None
    shared = shared_snapshot(db) if committed and path is None else None  # (PostgreSQL: columnar_driver)
    uuids = uuids and path is not None
    # (the driver's read: on SQLite each id as its bytes and whether it is a UUID's 16: reports.stored_ids)
    flagged = f"select {id_select('id', dialect)}, version, withdrawn, {id_select('clinic_id', dialect)}"
    adbc_sql = f"{flagged}, {data_select(dialect)}{extra} from {table}"
    # a record with a second version? (the key's index answers it without reading the rows)
    check = f"select count(*) from (select 1 from {table} where version <> 1 limit 1) as later"
    if path is not None:
        corrected = any(t.column(0)[0].as_py() for t in _adbc_batches(path, check))
        batches = prefetched(partial(_adbc_batches, path, adbc_sql, BATCH))
    elif shared is not None:  # (the check too: in the shared snapshot, not the session's next one)
        corrected = any(t.column(0)[0].as_py() for t in pg_batches(shared, check))
        batches = prefetched(partial(pg_batches, shared, adbc_sql))
    else:
        corrected = bool(db.execute(text(check)).scalar())
        batches = _cursor_batches(db, sql, columns)
    names = ["id", *(f.name for f in fields), *columns]
    keep = ", ".join(
        f"{as_uuid(_quote(c))} as {_quote(c)}" if uuids and c in references else _quote(c) for c in names
    )
    where = "not withdrawn"
    if clinic_id is not None:
        clinic = f"try_cast({_literal(clinic_id)} as uuid)" if uuids else _literal(clinic_id)
        where += f" and clinic_id = {clinic}"
    picks = f"({_json_picks(fields, columns)})"
    if corrected:  # each record's newest version (within its clinic): a hash aggregate, no sort
        # ((id, version, clinic_id) is the key: one newest version per id and clinic)
        newest = ", ".join(
            f"arg_max({_quote(c)}, version) as {_quote(c)}"
            for c in ["withdrawn", *(f.name for f in fields), *columns]
        )
        picks = f"(select id, clinic_id, {newest} from {picks} group by id, clinic_id)"
    # else every record has its first version only: the key (id, version, clinic_id) is unique
    # DuckDB takes the batches as they come (a stream: the JSON of one batch held at a time)
    # and keeps only the picked fields, sorted by id
    stream = _stream(chain(batches, [_arrow_batch([], columns)]), columns, uuids=uuids)
    duck.register("batch", stream)
    order = " order by id, clinic_id" if ordered else ""
    try:
        run(duck, f"create table {_quote(into)} as select {keep} from {picks} where {where}{order}")
    finally:
        duck.unregister("batch")
    return _count(duck, into)


def _stream(
    batches: Iterator[pa.Table], columns: Sequence[str], *, uuids: bool = False
) -> pa.RecordBatchReader:
    """The batches as one Arrow stream of one schema (the envelope typed as ``_arrow_batch``
    types it, its ids as UUIDs when ``uuids``; the row ``columns`` as the first batch has them),
    for DuckDB to read as it goes."""
    first = next(batches)
    schema = _arrow_batch([], ()).schema
    if uuids:
        schema = uuid_ids(schema)
    for name in columns:
        schema = schema.append(first.schema.field(name))
    ids = with_id_uuids if uuids else with_id_texts

    def typed() -> Iterator[pa.RecordBatch]:
        for table in chain([first], batches):
            if uuids and not table.num_rows:  # (the empty batch ending the stream: its ids are text)
                continue
            yield from with_data_text(ids(table)).select(schema.names).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, typed())


def uuid_ids(schema: pa.Schema, ids: Sequence[str] = ("id", "clinic_id")) -> pa.Schema:
    """``schema`` with its id columns ``ids`` typed as UUIDs."""
    for name in ids:
        schema = schema.set(schema.get_field_index(name), pa.field(name, pa.uuid()))
    return schema


def analysis_memory(duck: duckdb.DuckDBPyConnection) -> None:
    """The read is over: DuckDB keeps within ``ANALYSIS_MEMORY`` while the analysis works."""
    run(duck, f"set memory_limit = {_literal(ANALYSIS_MEMORY)}")


def run(duck: duckdb.DuckDBPyConnection, sql: str) -> None:
    """A statement run to its end (DuckDB takes no other work while a result is unfinished)."""
    duck.execute(sql).fetchall()


def _count(duck: duckdb.DuckDBPyConnection, table: str) -> int:
    rows = duck.execute(f"select count(*) from {_quote(table)}").fetchall()
    return int(rows[0][0])


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """Text as a column of Python strings, each distinct text made once (ids repeat across
    millions of rows: shared objects cost no memory and hash once); missing is None."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    texts = np.asarray([*encoded.dictionary.to_pylist(), None], dtype=object)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    out: np.ndarray = texts[codes]  # -1: the None at the end
    return out


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as the pandas frame the analysis takes: text as Python strings (objects),
    timestamps in ns. The other columns are converted by Arrow in one call (a frame of numbers
    and times of 2.3 million rows: 0.09 s, against 2.0 s column by column into a new frame)."""
    names = table.column_names
    texts = [
        i for i, t in enumerate(table.schema.types) if pa.types.is_string(t) or pa.types.is_large_string(t)
    ]
    frame: pd.DataFrame = table.drop_columns([names[i] for i in texts]).to_pandas(
        coerce_temporal_nanoseconds=True
    )
    for i in texts:  # each at its place, in order: the columns keep the table's order
        frame.insert(i, names[i], pd.Series(_objects(table.column(i)), dtype=object))
    return frame
