"""The read's DuckDB tables made into what pandas receives (bontrack.reports.data): patient and
session ids replaced by integer codes, and the long frame of every score when it is asked for."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from bontrack.reports.columnar import run, to_frame


def code_ids(duck: duckdb.DuckDBPyConnection, measured: str, *, ordered: bool = True) -> None:
    """Patient and session ids replaced, in the tables, by their codes as ``frames.coded`` makes
    them: each id's rank among the distinct ids of the frames' columns (patients, sessions' and
    measurements' patient ids; sessions', measurements' and adverse events' session ids), in the
    ids' order (DuckDB orders text by its bytes: UTF-8's order is the characters' order, as
    Python's); a missing patient id -1, a missing session id NULL (NaN). Rows keep their order;
    the outcomes', unless ``ordered`` (the load sorted them), are sorted by id here (one sort:
    ``cycle_rows`` breaks ties by this order, as the long frame's).

    The outcomes are then read through the view ``outcomes`` (``_outcomes_view``), whose ``obs``
    numbers each outcome in the order of the ids: with ``ordered``, over one table, so the long
    frame reads them in that order; else over a table per instrument holding only the scores that
    instrument has (at 1,000,000 patients the one table, ten score columns mostly empty, passed
    DuckDB's memory and every statement on it was read back from its temporary folder), each in
    the order of the ids, ``obs`` numbering that instrument's outcomes: the per-cycle rows compare
    the ``obs`` of one instrument's outcomes only (``cycle_rows``)."""
    run(
        duck,
        "create table patient_codes as select id, "
        "cast(row_number() over (order by id) - 1 as bigint) as code "
        "from (select id from patients union select patient_id from sessions "
        f"union select patient_id from outcomes where {measured}) where id is not null",
    )
    run(
        duck,
        "create table session_codes as select id, "
        "cast(row_number() over (order by id) - 1 as double) as code "
        "from (select id from sessions union select session_id from outcomes where "
        f"{measured} union select session_id from events) where id is not null",
    )

    def coded(table: str, patient: str | None, session: str | None) -> str:
        """The select list and joins of ``table`` (as ``t``) with its ids replaced by their codes."""
        joins, columns = [], []
        if patient is not None:
            joins.append(f"left join patient_codes p on p.id = t.{patient}")
            columns.append(f"coalesce(p.code, -1) as {patient}")
        if session is not None:
            joins.append(f"left join session_codes s on s.id = t.{session}")
            columns.append(f"s.code as {session}")
        return f"replace ({', '.join(columns)}) from {table} t {' '.join(joins)}"

    def recode(table: str, patient: str | None, session: str | None) -> None:
        run(
            duck,
            f"create table {table}_coded as select t.* {coded(table, patient, session)} order by t.rowid",
        )
        run(duck, f"drop table {table}")
        run(duck, f"alter table {table}_coded rename to {table}")

    recode("patients", "id", None)
    recode("sessions", "patient_id", "id")
    recode("events", None, "session_id")
    # the outcomes' ids, once they have ordered the rows, are read by nobody after
    outcomes = coded("outcomes", "patient_id", "session_id")
    columns = [r[0] for r in duck.execute("describe outcomes").fetchall() if r[0] != "id"]
    scores = [c for c in columns if c.startswith("score_")]
    groups = _scored_by_instrument(duck, scores) if not ordered else []
    one_table = not groups
    if one_table:  # in the order of the ids
        order = "t.rowid" if ordered else "t.id"
        run(duck, f"create table outcomes_0 as select t.* exclude (id) {outcomes} order by {order}")
        groups = [(None, scores)]
    else:
        for k, (instrument, present) in enumerate(groups):
            which = (
                "t.instrument is null" if instrument is None else f"t.instrument = {_sql_text(instrument)}"
            )
            left_out = ", ".join(["id", "instrument", *(c for c in scores if c not in present)])
            run(
                duck,
                f"create table outcomes_{k} as select t.* exclude ({left_out}) {outcomes} "
                f"where {which} order by t.id",
            )
    run(duck, "drop table outcomes")
    run(duck, _outcomes_view(columns, scores, groups, one_table=one_table))


def _scored_by_instrument(
    duck: duckdb.DuckDBPyConnection, scores: Sequence[str]
) -> list[tuple[str | None, list[str]]]:
    """Each instrument of the outcomes (None: outcomes without one) and its score columns holding
    a value in some outcome."""
    counted = "".join(f", count({c})" for c in scores)
    rows = duck.execute(
        f"select instrument{counted} from outcomes group by instrument order by instrument"
    ).fetchall()
    return [(r[0], [c for c, n in zip(scores, r[1:], strict=True) if n]) for r in rows]


def _outcomes_view(
    columns: Sequence[str],
    scores: Sequence[str],
    groups: Sequence[tuple[str | None, list[str]]],
    *,
    one_table: bool,
) -> str:
    """The view ``outcomes``: ``obs`` and ``columns`` of the tables ``outcomes_<k>`` (one per
    instrument of ``groups``, or one of every outcome), a score an instrument lacks as NULL."""
    if one_table:
        return f"create view outcomes as select rowid as obs, {', '.join(columns)} from outcomes_0"
    parts = []
    for k, (instrument, present) in enumerate(groups):
        picks = []
        for c in columns:
            if c == "instrument":
                named = "null" if instrument is None else _sql_text(instrument)
                picks.append(f"cast({named} as varchar) as instrument")
            elif c in scores and c not in present:
                picks.append(f"cast(null as double) as {c}")
            else:
                picks.append(c)
        parts.append(f"select rowid as obs, {', '.join(picks)} from outcomes_{k}")
    return "create view outcomes as " + " union all ".join(parts)


def long_scores(
    duck: duckdb.DuckDBPyConnection, scores: Sequence[str], measured: str, own_columns: Sequence[str]
) -> pd.DataFrame:
    """One row per score of each outcome (as ``queries.measurements_frame``: score by score, in
    the outcomes' order; a score missing or null is left out, one that is not a number is NaN),
    each score's rows fetched from DuckDB in turn into columns made once at their full length."""
    keep = list(own_columns)  # the outcomes' own columns but the instrument
    row = duck.execute(
        f"select {', '.join(f'count(score_{i})' for i in range(len(scores)))} from outcomes"
        if scores
        else "select 0"
    ).fetchall()[0]
    counts = [int(c) for c in (row or ())] if scores else []
    total = sum(counts)
    instruments = [
        r[0]
        for r in duck.execute(
            f"select distinct instrument from outcomes where ({measured}) and instrument is not null "
            "order by instrument"
        ).fetchall()
    ]
    which = " ".join(f"when {_sql_text(name)} then {i}" for i, name in enumerate(instruments))
    instrument_code = f"(case instrument {which} else -1 end)" if instruments else "-1"
    present = sorted({name for name, n in zip(scores, counts, strict=True) if n})
    columns: dict[str, np.ndarray] = {}
    instrument = np.empty(total, dtype=np.int64)
    score = np.empty(total, dtype=np.int64)
    value = np.empty(total, dtype=np.float64)
    start = 0
    for i, (name, n) in enumerate(zip(scores, counts, strict=True)):
        if not n:
            continue
        part = duck.sql(
            f"select {', '.join(keep)}, {instrument_code} as _instrument, score_{i} as _value "
            f"from outcomes where score_{i} is not null"
        ).to_arrow_table()
        frame = to_frame(part.select(keep))
        for c in keep:
            values = frame[c].to_numpy()
            if c not in columns:
                columns[c] = np.empty(total, dtype=values.dtype)
            columns[c][start : start + n] = values
        instrument[start : start + n] = part.column("_instrument").to_numpy()
        score[start : start + n] = present.index(name)
        value[start : start + n] = part.column("_value").to_numpy()
        start += n
    if not total:  # no scores: the columns' types from an empty fetch
        empty = to_frame(duck.sql(f"select {', '.join(keep)} from outcomes limit 0").to_arrow_table())
        columns = {c: empty[c].to_numpy() for c in keep}
    out = pd.DataFrame({c: columns[c] for c in keep})
    out["instrument"] = pd.Categorical.from_codes(instrument, categories=pd.Index(instruments, dtype=object))
    out["score"] = pd.Categorical.from_codes(score, categories=pd.Index(present, dtype=object))
    out["value"] = value
    return out


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
