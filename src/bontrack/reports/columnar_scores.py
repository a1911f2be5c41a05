"""The report's outcomes read from the derived table of current outcome scores
(bontrack.outcomes.scores_kept: typed columns and each outcome's small object of scores) into
DuckDB, as ``columnar.load_current`` reads them from every version's JSON: the same rows and
types, from far fewer bytes to parse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Protocol

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from bontrack.reports.columnar import (
    DERIVED_BATCH,
    Field,
    _adbc_batches,
    _count,
    _sqlite_file,
    _typed,
    fetched,
    run,
    uuid_ids,
)
from bontrack.reports.columnar_driver import _identifier as _quote
from bontrack.reports.columnar_driver import _literal, pg_batches, prefetched, shared_snapshot
from bontrack.reports.stored_ids import id_select, id_texts_of, with_id_texts, with_id_uuids
from bontrack.storage.record_ids import id_literal

# The derived table of current outcomes (bontrack.outcomes.scores_kept), one row per outcome: its
# columns as the driver hands them over, none NULL (the SQLite driver types a column by its first
# rows: a NULL there would make it an integer), what is missing marked ('' for a text, a flag for
# a number)
SCORE_COLUMNS = pa.schema(
    [
        ("outcome_id", pa.string()),
        ("clinic_id", pa.string()),
        ("patient_id", pa.string()),
        ("session_id", pa.string()),
        ("no_weeks", pa.int64()),
        ("weeks_after_session", pa.float64()),
        ("date", pa.string()),
        ("instrument", pa.string()),
        ("scores", pa.string()),
    ]
)
SCORE_IDS = ("outcome_id", "clinic_id", "patient_id", "session_id")  # (flagged: ``_score_sql``)
# how each outcome field is read from those columns (as ``_typed`` reads it from the JSON text)
_SCORE_FIELD_SQL = {
    "patient_id": "nullif(patient_id, '')",
    "session_id": "nullif(session_id, '')",
    "weeks_after_session": "(case when no_weeks = 1 then null else weeks_after_session end)",
    "date": _typed("nullif(date, '')", None, "date"),
    "instrument": "nullif(instrument, '')",
}
SCORES_PATH = "scoring.scores."  # the report's score fields' paths (the table keeps that object)


class DerivedSql(Protocol):
    """The select of a derived table's rows (``flagged``: the ids as the driver reads them)."""

    def __call__(self, dialect: str, clinic_id: str | None, *, flagged: bool = False) -> str: ...


def _score_sql(dialect: str, clinic_id: str | None, *, flagged: bool = False, clinics: bool = True) -> str:
    """The derived table's rows; ``flagged``: the ids as the driver reads them (reports.stored_ids);
    ``clinics``: with each outcome's clinic (only what orders the rows reads it: ``load_scores``)."""
    date = "date" if dialect == "sqlite" else "cast(date as text)"
    where = "" if clinic_id is None else f" where clinic_id = {id_literal(clinic_id, dialect)}"
    ids: tuple[str, ...] = ("outcome_id", "clinic_id", "coalesce(patient_id, '')", "coalesce(session_id, '')")
    names: tuple[str, ...] = ("outcome_id", "clinic_id", "patient_id", "session_id")
    if not clinics:
        ids, names = (ids[0], *ids[2:]), (names[0], *names[2:])
    kind = dialect if flagged else "text"
    return (
        f"select {', '.join(id_select(i, kind, n) for i, n in zip(ids, names, strict=True))}, "
        "(case when weeks_after_session is null then 1 else 0 end) as no_weeks, "
        "coalesce(weeks_after_session, 0.0) as weeks_after_session, "
        f"coalesce({date}, '') as date, coalesce(instrument, '') as instrument, "
        f"coalesce(scores, '') as scores from outcome_scores{where}"
    )


def _rows_batches(db: Session, sql: str, schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows of ``sql`` through the session's own connection (``columnar.fetched``), as
    Arrow tables of ``schema`` (its columns named ``*_id``: ids, as their text)."""
    places = [i for i, f in enumerate(schema) if f.name.endswith("_id")]
    for rows in fetched(db, sql, "bontrack_columnar_scores"):
        columns = list(zip(*id_texts_of(rows, places), strict=True))
        yield pa.table([pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def derived_stream(
    db: Session,
    sql: DerivedSql,
    clinic_id: str | None,
    schema: pa.Schema,
    *,
    committed: bool,
    uuids: Sequence[str] = (),
) -> tuple[pa.RecordBatchReader, bool]:
    """The rows ``sql`` selects from a derived table (of a clinic, or all) as one Arrow stream of
    ``schema``: from a committed SQLite file by the ADBC driver in a thread of its own (as
    ``load_current``; the ids flagged, reports.stored_ids), else through the session's connection;
    and whether its id columns ``uuids`` (those ``sql`` flags) are UUIDs: when asked for and read
    by the driver (an empty text then a missing id: reports.stored_ids.with_id_uuids)."""
    dialect = db.get_bind().dialect.name
    path = _sqlite_file(db) if committed else None
    shared = shared_snapshot(db) if committed and path is None else None  # (PostgreSQL: columnar_driver)
    as_uuids = bool(uuids) and path is not None
    if path is not None:
        batches = prefetched(
            partial(_adbc_batches, path, sql(dialect, clinic_id, flagged=True), DERIVED_BATCH)
        )
    elif shared is not None:  # (the driver's own batches: of 16 MB, not of rows)
        batches = prefetched(partial(pg_batches, shared, sql(dialect, clinic_id, flagged=True)))
    else:
        batches = _rows_batches(db, sql(dialect, clinic_id, flagged=False), schema)
    if as_uuids:
        schema = uuid_ids(schema, uuids)
    ids = with_id_uuids if as_uuids else with_id_texts

    def typed() -> Iterator[pa.RecordBatch]:
        for table in batches:
            if as_uuids and not table.num_rows:
                continue
            yield from ids(table).select(schema.names).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, typed()), as_uuids


def load_scores(
    db: Session,
    clinic_id: str | None,
    fields: Sequence[Field],
    *,
    duck: duckdb.DuckDBPyConnection,
    into: str,
    committed: bool = False,
    ordered: bool = True,
    uuids: bool = False,
) -> int:
    """DuckDB table ``into`` as ``load_current`` makes it for the outcomes (``id`` and the
    ``fields``: the outcome's own, and its scores at ``scoring.scores.<name>``), read from the
    derived table of current outcomes (bontrack.outcomes.scores_kept: typed columns and each
    outcome's small object of scores) instead of every version's whole JSON; the same rows.
    Returns its number of rows. ``committed``: as ``load_current`` (a SQLite file then read by
    the ADBC driver, in a thread of its own); ``uuids``: as ``load_current``."""
    # (the clinic read only to order the rows: 2 of 13 columns the driver hands over, at 1,000,000
    # patients for 12.8 million outcomes)
    ids = tuple(i for i in SCORE_IDS if ordered or i != "clinic_id") if uuids else ()
    schema = SCORE_COLUMNS if ordered else SCORE_COLUMNS.remove(SCORE_COLUMNS.get_field_index("clinic_id"))
    sql = _score_sql if ordered else partial(_score_sql, clinics=False)
    stream, uuids = derived_stream(db, sql, clinic_id, schema, committed=committed, uuids=ids)
    own = [f for f in fields if not f.path.startswith(SCORES_PATH)]
    scored = [f for f in fields if f.path.startswith(SCORES_PATH)]
    picks = []
    for f in own:
        # (as UUIDs, a missing id is missing already)
        expr = f.path if uuids and f.path in ("patient_id", "session_id") else _SCORE_FIELD_SQL.get(f.path)
        if expr is None or f.kind != {"weeks_after_session": "number", "date": "date"}.get(f.path, "text"):
            raise ValueError(f"outcome field {f.name} ({f.path}, {f.kind}) is not in the derived table")
        picks.append(f"{expr} as {_quote(f.name)}")
    if scored:  # one parse of each outcome's small object of scores, typed as from the record
        paths = ", ".join(_literal("$." + f.path.removeprefix(SCORES_PATH)) for f in scored)
        inner = f"json_extract_string(nullif(scores, ''), [{paths}])"
        picks += [f"{_typed(f'_s[{i + 1}]', None, f.kind)} as {_quote(f.name)}" for i, f in enumerate(scored)]
        if any(f.kind == "flag" for f in scored):
            raise ValueError("a flag among the scores: read them from the records")
    else:
        inner = "null"
    order = " order by id, clinic_id" if ordered else ""
    select_all = ", ".join(["id", *picks])
    duck.register("scores", stream)
    try:
        run(
            duck,
            f"create table {_quote(into)} as select {select_all} from "
            f"(select *, outcome_id as id, {inner} as _s from scores){order}",
        )
    finally:
        duck.unregister("scores")
    return _count(duck, into)
