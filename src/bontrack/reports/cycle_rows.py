"""The per-cycle rows of the report's scores joined in DuckDB, over the tables of the report's read.

``analytics.cycles.cycle_outcomes`` joins, in pandas, each session to its baseline (the
patient's last score on or before the session's date) and to its follow-ups (the scores naming
it); over a long frame of every score of every outcome (2.9 million at 100,000 patients, 29
million at 1,000,000) that join was most of the analysis, ten times over. Here DuckDB makes the
same rows from the read's own tables (``sessions`` and the wide ``outcomes``, ids coded: see
``reports.data``), as of the report date, so pandas receives only the rows of one score
(``CycleRows.rows``); ``analytics.cycles.judged_rows`` then judges them, the one definition of
change and response, so the rows are those of ``cycle_outcomes`` on the frames as of that date,
value for value and in the same order (tested: the report from both is the same).

The join, as ``cycle_outcomes`` makes it on the frames ``sections.frames.as_of`` keeps:

- sessions dated on or before the day, numbered per patient by date, then id (``number_cycles``;
  the report's sessions carry no recording time), with the next session's date;
- the score's values: outcomes of the instrument dated on or before the day whose score is a
  number (``obs``: the outcome's row in the ``outcomes`` table, which holds them in the order
  of their ids, as the long frame does: the read sorts them once, when it codes their ids);
- a session's baseline: the score with the latest (date, obs) on or before the session's date,
  of the same patient (``merge_asof``, backward, of rows sorted by date then obs): DuckDB's
  ASOF join on (day, obs) as one number (so no two candidates tie), once for all the scores of
  an instrument (table ``followed``, kept per instrument and day: ``_follow``);
- a follow-up: a score naming a session (and a week) among those sessions; rows ordered by
  patient, cycle, whole weeks, then obs (the stable sort of the long frame's order).

The other readers of the long frame read here too: the patients with a score by the day
(``sections.frames.as_of``), the scores dated at the clamped edges (``dates_at_the_edge``) and
the follow-up visits scored (``sections.summary``). So the read need not sort the outcomes nor
hand pandas a row per score (``cohort_frames(every_score=False)``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from bontrack.reports.ahead import Ahead, Call
from bontrack.reports.columnar import run, to_frame

COLUMNS = (
    "patient_id",
    "session_id",
    "cycle",
    "session_date",
    "next_session_date",
    "weeks",
    "date",
    "baseline",
    "value",
    "obs",
    "baseline_obs",
)

# the columns the report's sections read of the pain score's rows: all but the scores' identities
# (``obs``, ``baseline_obs``), which only ``visit_frame`` reads (the report's is ``visits``)
SECTIONS = tuple(c for c in COLUMNS if c not in ("obs", "baseline_obs"))
# the columns ``analytics.cycles.judged_rows`` reads, and the report's sections of a score other
# than the pain score's (rates, means, the RAND-36 profile)
NARROW = ("patient_id", "cycle", "weeks", "baseline", "value")


def _key(timestamp: str, obs: str) -> str:
    """A day (a midnight timestamp) and a row number below 2**32 as one increasing integer."""
    return f"((epoch_ms({timestamp}) // 86400000) * 4294967296 + {obs})"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class CycleRows:
    """Per-cycle rows of one score at a time, as of a day, from the read's DuckDB tables.

    ``duck`` holds ``sessions`` (id and patient_id coded, date) and ``outcomes`` (patient_id,
    session_id coded, weeks_after_session, date, instrument, ``score_i`` for each of ``scores``),
    each in the order of the records' ids; this object keeps the connection (and so those tables)
    open until it is closed or let go."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, scores: Sequence[str], measured: str) -> None:
        """``measured``: the SQL condition of an outcome in the long frame (it has a score)."""
        self._duck: duckdb.DuckDBPyConnection | None = duck
        self._scores = list(scores)
        self._measured = measured
        self._day: date | None = None
        self._followed_key: tuple[str, date] | None = None  # the instrument in table ``followed``
        self._present: list[int] = []  # its scores with a value (their numbers in ``scores``)
        self._turn = threading.RLock()  # one statement at a time on the connection, whichever thread
        self._ahead: Ahead[pd.DataFrame] = Ahead(self, self._turn, "bontrack-cycle-rows")

    def close(self) -> None:
        """Let go of the read's tables (a call being made ahead finishes first)."""
        self._ahead.close()
        with self._turn:
            if self._duck is not None:
                self._duck.close()
                self._duck = None

    def plan(self, calls: Sequence[Call[pd.DataFrame]]) -> None:
        """The ``rows`` and ``visits`` the report will ask for (``rows_call``, ``visits_call``),
        in its order: each made ahead, DuckDB joining the next score while pandas judges this
        one (``reports.ahead``). The answers are the same, planned or not."""
        self._ahead.plan(calls)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._duck is None:
            raise RuntimeError("the report's read is closed: its cycle rows are gone")
        return self._duck

    def _cycles(self, day: date) -> None:
        """Table ``cycles``: the sessions dated on or before ``day``, numbered (made once per day)."""
        if self._day == day:
            return
        duck = self._connection()
        order = "partition by patient_id order by date, id"
        run(
            duck,
            "create or replace table cycles as select id as session_id, patient_id, "
            f"row_number() over ({order}) as cycle, date as session_date, "
            f"lead(date) over ({order}) as next_session_date "
            f"from sessions where date <= {_text(day.isoformat())}::timestamp",
        )
        self._day = day

    def rows(
        self,
        instrument: str,
        score: str,
        day: date,
        *,
        cycle: int | None = None,
        weeks: int | None = None,
        columns: Sequence[str] = COLUMNS,
    ) -> pd.DataFrame:
        """``_rows``, made ahead when planned (``plan``, ``rows_call``)."""
        return self._ahead.answer(rows_call(Rows(instrument, score, day, cycle, weeks, tuple(columns))))

    def _rows(self, asked: Rows) -> pd.DataFrame:
        """The joined rows (``COLUMNS``) of ``score`` of ``instrument`` as of ``day``, for
        ``analytics.cycles.judged_rows``; only those of the ``cycle``-th cycles and the visits
        at ``weeks`` when given (the same rows as the others left out after the join).
        ``columns``: only these of every row (``NARROW``: what ``judged_rows`` reads)."""
        instrument, score, day, columns = asked.instrument, asked.score, asked.day, asked.columns
        cycle, weeks = asked.cycle, asked.weeks
        if (cycle is not None or weeks is not None) and tuple(columns) != COLUMNS:
            raise ValueError("only every row may be read in fewer columns")
        only = "" if cycle is None else f" and cycle = {int(cycle)}"
        at = "" if weeks is None else f" and weeks = {int(weeks)}"
        picked = ", ".join(COLUMNS[COLUMNS.index(c)] for c in columns)
        ordered = f"select {picked} from ({self._score_rows(instrument, score, day)}{only}{at}) "
        return to_frame(
            self._connection().sql(f"{ordered} order by patient_id, cycle, weeks, obs").to_arrow_table()
        )

    def _score_rows(self, instrument: str, score: str, day: date) -> str:
        """The select of every row (``COLUMNS``, in no order) of ``score`` of ``instrument`` as of
        ``day``, from table ``followed`` (``_keep``); ends in its where clause."""
        i = self._keep(instrument, score, day)
        if i is None:  # a score not read, or without any value: no rows
            return (
                "select patient_id, session_id, cycle, session_date, next_session_date, weeks, date, "
                "cast(null as double) as baseline, cast(null as double) as value, obs, "
                "cast(null as double) as baseline_obs from followed where false"
            )
        return (
            "select patient_id, session_id, cycle, session_date, next_session_date, weeks, date, "
            f"baseline_{i} as baseline, value_{i} as value, obs, baseline_obs_{i} as baseline_obs "
            f"from followed where value_{i} is not null"
        )

    def _keep(self, instrument: str, score: str, day: date) -> int | None:
        """Table ``followed``: the follow-ups of ``instrument`` as of ``day`` with, for each of its
        scores, the value and the session's baseline (made once per instrument and day, the
        previous one's replaced). Returns the column number of ``score`` (None: not there)."""
        if self._followed_key != (instrument, day):
            self._cycles(day)
            duck = self._connection()
            on_or_before = f"{_text(day.isoformat())}::timestamp"
            mine = f"instrument = {_text(instrument)} and date <= {on_or_before}"
            valid = [f"(score_{i} is not null and not isnan(score_{i}))" for i in range(len(self._scores))]
            # (an aggregate: one row, even of no outcomes)
            counted = ", ".join(f"count(*) filter (where {v})" for v in valid) or "count(*)"
            counts = duck.execute(f"select {counted} from outcomes where {mine}").fetchall()[0]
            present = [i for i, n in enumerate(counts[: len(valid)]) if n]
            _follow(duck, present, mine, valid)
            self._followed_key = (instrument, day)
            self._present = present
        if score not in self._scores or self._scores.index(score) not in self._present:
            return None
        return self._scores.index(score)

    def visits(self, instrument: str, score: str, day: date, *, max_cycle: int) -> pd.DataFrame:
        """``_visits``, made ahead when planned (``plan``, ``visits_call``)."""
        return self._ahead.answer(visits_call(instrument, score, day, max_cycle=max_cycle))

    def _visits(self, instrument: str, score: str, day: date, *, max_cycle: int) -> pd.DataFrame:
        """``analytics.trajectories.visit_frame`` of the ``rows`` of cycles up to ``max_cycle``,
        made by DuckDB (patient_id, cycle, weeks, value; in its order): each cycle's baseline as
        its week 0 (by patient and cycle; a score that is the baseline of two cycles only the
        earlier one's), then the follow-ups in the rows' order, those that are some cycle's
        baseline left out. Only these narrow rows reach pandas."""
        rows = f"{self._score_rows(instrument, score, day)} and cycle <= {int(max_cycle)}"
        sql = visits_sql(rows)
        return to_frame(self._connection().sql(sql).to_arrow_table())

    def patients_scored(self, day: date) -> pd.Series:
        """The patients (codes) with a score dated on or before ``day`` (-1: an outcome without one)."""
        with self._turn:
            table = (
                self._connection()
                .sql(
                    f"select distinct patient_id from outcomes where ({self._measured}) "
                    f"and date <= {_text(day.isoformat())}::timestamp"
                )
                .to_arrow_table()
            )
            return pd.Series(table.column(0).to_numpy(), dtype="int64")

    def scores_dated(self, days: Sequence[date]) -> int:
        """Distinct (patient, date, instrument) among the scores dated on one of ``days``."""
        with self._turn:
            within = ", ".join(f"{_text(d.isoformat())}::timestamp" for d in days)
            rows = self._connection().execute(
                "select count(*) from (select distinct patient_id, date, instrument from outcomes "
                f"where ({self._measured}) and date in ({within}))"
            )
            return int(rows.fetchall()[0][0])

    def visits_scored(self, instrument: str, day: date) -> pd.DataFrame:
        """``_visits_scored``, made ahead when planned (``plan``, ``visits_scored_call``)."""
        return self._ahead.answer(visits_scored_call(instrument, day))

    def _visits_scored(self, instrument: str, day: date) -> pd.DataFrame:
        """The distinct (session_id, weeks_after_session) of the follow-up scores of ``instrument``
        dated on or before ``day``."""
        return to_frame(
            self._connection()
            .sql(
                "select distinct session_id, weeks_after_session from outcomes "
                f"where ({self._measured}) and instrument = {_text(instrument)} "
                f"and date <= {_text(day.isoformat())}::timestamp "
                "and session_id is not null and weeks_after_session is not null"
            )
            .to_arrow_table()
        )


def _follow(duck: duckdb.DuckDBPyConnection, present: Sequence[int], mine: str, valid: Sequence[str]) -> None:
    """Table ``followed`` (``CycleRows._keep``): the follow-ups of the outcomes of one instrument
    as of the day (``mine``) with the ``present`` scores' values (``valid``: a number) and each
    one's baseline at the session the follow-up names, in one ASOF join for all the scores.

    A session's baseline of a score is its latest (day, obs) value on or before the session's day
    (an ASOF join per score did it). One ASOF join finds, per session, the latest outcome with a
    value of any of the scores: of a score valued there, that is its baseline; of a score not
    valued there (a scale left out of that outcome), the latest value before it is found by an
    ASOF join of that score, only over the sessions left so and their patients' values."""
    values = "".join(f", case when {valid[i]} then score_{i} end as v{i}" for i in present)
    any_valid = " or ".join(valid[i] for i in present) or "false"
    scored = f"select obs, patient_id, session_id, weeks_after_session as w, date{values} from outcomes "
    scored += f"where {mine} and ({any_valid})"
    session_key = _key("session_date", "4294967295")
    found = "".join(
        f", l.v{i} as baseline_{i}"
        f", cast(case when l.v{i} is not null then l.obs end as double) as baseline_obs_{i}"
        for i in present
    )
    run(
        duck,
        f"""
        create or replace temporary table based as
        select c.session_id, c.patient_id, c.cycle, c.session_date, c.next_session_date, c.key,
               l.obs as found{found}
        from (select *, {session_key} as key from cycles) c
        asof left join (select *, {_key("date", "obs")} as key from ({scored})) l
        on l.patient_id = c.patient_id and c.key >= l.key
        """,
    )
    # (an aggregate: one row, even of no sessions)
    left = ", ".join(f"count(*) filter (where found is not null and baseline_{i} is null)" for i in present)
    counts = duck.execute(f"select {left or 'count(*)'} from based").fetchall()[0]
    baselines, fallbacks = "", ""
    for i, n in zip(present, counts, strict=False):
        if not n:
            baselines += f", base.baseline_{i}, base.baseline_obs_{i}"
            continue
        # the sessions whose latest outcome had no value of this score, and their patients' values
        run(
            duck,
            f"""
            create or replace temporary table fallback_{i} as
            with s as (select session_id, patient_id, key from based
                       where found is not null and baseline_{i} is null)
            select s.session_id, l.v{i} as baseline, cast(l.obs as double) as baseline_obs
            from s asof left join (
                select patient_id, obs, v{i}, {_key("date", "obs")} as key from ({scored})
                where v{i} is not null and patient_id in (select patient_id from s)
            ) l on l.patient_id = s.patient_id and s.key >= l.key
            """,
        )
        baselines += (
            f", coalesce(base.baseline_{i}, f{i}.baseline) as baseline_{i}"
            f", coalesce(base.baseline_obs_{i}, f{i}.baseline_obs) as baseline_obs_{i}"
        )
        fallbacks += f" left join fallback_{i} f{i} on f{i}.session_id = base.session_id"
    run(
        duck,
        f"""
        create or replace table followed as
        select o.patient_id, o.session_id, base.cycle, base.session_date::timestamp_ns as session_date,
               base.next_session_date::timestamp_ns as next_session_date,
               cast(trunc(o.w) as bigint) as weeks, o.date::timestamp_ns as date, o.obs
               {"".join(f", o.v{i} as value_{i}" for i in present)}{baselines}
        from ({scored}) o join based base on base.session_id = o.session_id{fallbacks}
        where o.w is not null
        """,
    )
    for table in ["based", *(f"fallback_{i}" for i in present)]:
        run(duck, f"drop table if exists {table}")


def visits_sql(rows: str) -> str:
    """The select of ``CycleRows.visits`` over ``rows``, a select of per-cycle rows (``COLUMNS``)."""
    return f"""
        with r as ({rows}),
        firsts as (  -- each session's baseline (the same on all its rows)
            select distinct session_id, patient_id, cycle, baseline, baseline_obs
            from r where baseline is not null
        ),
        base as (  -- a baseline used by two cycles: the week 0 of the earlier (patient, cycle)
            select patient_id, cycle, 0::bigint as weeks, baseline as value,
                   row_number() over (partition by baseline_obs order by patient_id, cycle) as nth
            from firsts
        )
        select patient_id, cycle, weeks, value from (
            select patient_id, cycle, weeks, value, 0 as part, patient_id as k1, cycle as k2,
                   0::bigint as k3, 0::bigint as k4
            from base where nth = 1
            union all
            select patient_id, cycle, weeks, value, 1, patient_id, cycle, weeks, obs
            from r where cast(obs as double) not in (select baseline_obs from firsts)
        ) order by part, k1, k2, k3, k4
    """


@dataclass(frozen=True)
class Rows:
    """What ``CycleRows.rows`` is asked for (its arguments)."""

    instrument: str
    score: str
    day: date
    cycle: int | None = None
    weeks: int | None = None
    columns: tuple[str, ...] = COLUMNS


def rows_call(asked: Rows) -> Call[pd.DataFrame]:
    """``CycleRows.rows`` of these arguments, for ``CycleRows.plan``."""
    return Call(("rows", asked), lambda rows: rows._rows(asked))


def visits_call(instrument: str, score: str, day: date, *, max_cycle: int) -> Call[pd.DataFrame]:
    """``CycleRows.visits`` of these arguments, for ``CycleRows.plan``."""
    return Call(
        ("visits", instrument, score, day, max_cycle),
        lambda rows: rows._visits(instrument, score, day, max_cycle=max_cycle),
    )


def visits_scored_call(instrument: str, day: date) -> Call[pd.DataFrame]:
    """``CycleRows.visits_scored`` of these arguments, for ``CycleRows.plan``."""
    return Call(
        ("visits_scored", instrument, day),
        lambda rows: rows._visits_scored(instrument, day),
    )
