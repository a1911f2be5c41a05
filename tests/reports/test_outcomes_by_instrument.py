"""The coded outcomes kept in a table per instrument (reports.coded.code_ids) and read through the
view ``outcomes``: every outcome once, its scores as read, ``obs`` numbering each instrument's
outcomes in the order of their ids; outcomes without an instrument kept too."""

from __future__ import annotations

import duckdb
import pytest

from bontrack.reports.coded import code_ids

MEASURED = "score_0 is not null or score_1 is not null or score_2 is not null"


def _read(
    outcomes: list[tuple[str, str, str | None, float | None, float | None, float | None]],
) -> duckdb.DuckDBPyConnection:
    """A read's tables as ``reports.data`` loads them: two patients, their sessions, the outcomes
    (id, patient, instrument, three scores), no adverse events."""
    duck = duckdb.connect()
    duck.execute("create table patients as select * from (values ('p1'), ('p2')) t(id)")
    duck.execute(
        "create table sessions as select * from (values ('s1', 'p1', date '2026-01-05'), "
        "('s2', 'p2', date '2026-02-05')) t(id, patient_id, date)"
    )
    duck.execute("create table events as select 'e1' as id, 's1' as session_id")
    duck.execute(
        "create table outcomes (id varchar, patient_id varchar, session_id varchar, "
        "weeks_after_session double, date timestamp, instrument varchar, "
        "score_0 double, score_1 double, score_2 double)"
    )
    for oid, patient, instrument, *scores in outcomes:
        duck.execute(
            "insert into outcomes values (?, ?, 's1', 6, timestamp '2026-02-16', ?, ?, ?, ?)",
            [oid, patient, instrument, *scores],
        )
    return duck


ROWS = [
    ("o5", "p1", "nprs", 4.0, None, None),
    ("o2", "p2", "rand36", None, 40.0, 55.0),
    ("o9", "p1", "nprs", 6.0, None, None),
    ("o1", "p1", "nprs", float("nan"), None, None),
    ("o7", "p2", None, None, None, None),
    ("o3", "p2", "rand36", None, 20.0, None),
]


@pytest.mark.parametrize("ordered", [False, True])
def test_every_outcome_once_with_its_scores_and_obs_in_the_ids_order(ordered: bool) -> None:
    rows = sorted(ROWS) if ordered else ROWS  # (the long frame's read loads them in the ids' order)
    duck = _read(rows)
    code_ids(duck, MEASURED, ordered=ordered)
    got = duck.execute(
        "select instrument, obs, patient_id, score_0, score_1, score_2 from outcomes order by instrument, obs"
    ).fetchall()
    by_id = sorted(ROWS)
    if ordered:  # one table: obs numbers every outcome in the ids' order
        numbered = {r[0]: n for n, r in enumerate(by_id)}
    else:  # a table per instrument: obs numbers its outcomes in the ids' order
        numbered = {}
        for instrument in {r[2] for r in ROWS}:
            mine = [r for r in by_id if r[2] == instrument]
            numbered |= {r[0]: n for n, r in enumerate(mine)}
    patient_code = {"p1": 0, "p2": 1}
    want = [(r[2], numbered[r[0]], patient_code[r[1]], *r[3:]) for r in ROWS]
    key = lambda r: (r[0] is None, r[0] or "", r[1])  # noqa: E731  (DuckDB puts NULL last)
    assert [_nan_as_text(r) for r in got] == [_nan_as_text(r) for r in sorted(want, key=key)]
    if not ordered:
        tables = {r[0] for r in duck.execute("select table_name from duckdb_tables()").fetchall()}
        assert {"outcomes_0", "outcomes_1", "outcomes_2"} <= tables
        columns = {r[0] for r in duck.execute("describe outcomes_0").fetchall()}  # nprs: its one score
        assert "score_0" in columns and not {"score_1", "score_2", "instrument"} & columns


def test_outcomes_that_name_no_instrument_only() -> None:
    duck = _read([("o2", "p1", None, 3.0, None, None), ("o1", "p2", None, None, None, None)])
    code_ids(duck, MEASURED, ordered=False)
    got = duck.execute("select obs, instrument, patient_id, score_0 from outcomes order by obs").fetchall()
    assert got == [(0, None, 1, None), (1, None, 0, 3.0)]


def _nan_as_text(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple("nan" if isinstance(v, float) and v != v else v for v in row)
