"""Every score's baselines of an instrument made in one pass (``CycleRows``: one ASOF join per
instrument, a score not valued at the outcome it finds joined again over only those sessions)
against the join they replaced, written here as it was: one ASOF join per score. On a demo clinic
with RAND-36 forms that leave scales blank (recorded through the service: those scales are
missing) and copies whose stored scales are not numbers (NaN, as ``columnar`` types them), every
score's rows (all of them, a cycle's, a visit week's, the narrow columns) and visits are the same
rows, values, types and order, as of two dates."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.reports.columnar import run, to_frame
from bontrack.reports.cycle_rows import COLUMNS, NARROW, CycleRows, visits_sql
from bontrack.reports.data import REPORT_SCORES, cohort_frames
from bontrack.reports.sections.common import TRAJECTORY_MAX_CYCLES
from bontrack.storage.engine import make_engine, transaction
from bontrack.storage.record_ids import id_text
from demo_exports import add_copies, bontrack, packed_sql

ACTOR = "test"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _key(timestamp: str, obs: str) -> str:
    return f"((epoch_ms({timestamp}) // 86400000) * 4294967296 + {obs})"


class AsofPerScore:
    """The rows and visits as ``CycleRows`` made them before: an ASOF join per score (its own
    tables ``ref_cycles`` and ``ref_joined`` on the same connection)."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, scores: Sequence[str]) -> None:
        self._duck = duck
        self._scores = list(scores)

    def _cycles(self, day: date) -> None:
        order = "partition by patient_id order by date, id"
        run(
            self._duck,
            "create or replace table ref_cycles as select id as session_id, patient_id, "
            f"row_number() over ({order}) as cycle, date as session_date, "
            f"lead(date) over ({order}) as next_session_date "
            f"from sessions where date <= {_text(day.isoformat())}::timestamp",
        )

    def _joined(
        self, instrument: str, score: str, day: date, *, cycle: int | None = None, weeks: int | None = None
    ) -> str:
        self._cycles(day)
        only = "" if cycle is None else f" where cycle = {int(cycle)}"
        at = "" if weeks is None else f" and trunc(m.w) = {int(weeks)}"
        value = f"score_{self._scores.index(score)}" if score in self._scores else "cast(null as double)"
        on_or_before = f"{_text(day.isoformat())}::timestamp"
        return f"""
            with m as (
                select obs, patient_id, session_id, weeks_after_session as w, date,
                       {value} as value
                from outcomes
                where instrument = {_text(instrument)} and {value} is not null
                      and not isnan({value}) and date <= {on_or_before}
            ),
            base as (
                select c.session_id, c.cycle, c.session_date, c.next_session_date,
                       l.value as baseline, cast(l.obs as double) as baseline_obs
                from (select *, {_key("session_date", "4294967295")} as key from ref_cycles{only}) c
                asof left join (select patient_id, value, obs, {_key("date", "obs")} as key from m) l
                on l.patient_id = c.patient_id and c.key >= l.key
            )
            select m.patient_id, m.session_id, base.cycle, base.session_date::timestamp_ns as session_date,
                   base.next_session_date::timestamp_ns as next_session_date,
                   cast(trunc(m.w) as bigint) as weeks, m.date::timestamp_ns as date,
                   base.baseline, m.value, m.obs, base.baseline_obs
            from m join base on base.session_id = m.session_id
            where m.w is not null{at}
        """

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
        sql = self._joined(instrument, score, day, cycle=cycle, weeks=weeks)
        picked = ", ".join(columns)
        ordered = f"select {picked} from ({sql}) order by patient_id, cycle, weeks, obs"
        return to_frame(self._duck.sql(ordered).to_arrow_table())

    def visits(self, instrument: str, score: str, day: date, *, max_cycle: int) -> pd.DataFrame:
        run(self._duck, f"create or replace table ref_joined as {self._joined(instrument, score, day)}")
        # the visits made the same way from the reference rows (only the rows differ)
        sql = visits_sql(f"select * from ref_joined where cycle <= {int(max_cycle)}")
        return to_frame(self._duck.sql(sql).to_arrow_table())


def _blank_scales(answers: dict[str, object], scales: Sequence[str]) -> dict[str, object]:
    """The answers with every item of ``scales`` left blank."""
    d = load_definition("rand36")
    blank = {str(n) for s in scales for n in d.scores[s].items}
    return {k: (None if k in blank else v) for k, v in answers.items()}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo clinic with RAND-36 forms leaving scales blank (through the service) and copies
    of forms whose stored scales are not numbers (written in SQL, as an older writer might)."""
    path = tmp_path_factory.mktemp("one_pass") / "clinic.db"
    url = f"sqlite:///{path}"
    assert bontrack("--db", url, "demo", "--patients", "40", "--seed", "41").exit_code == 0
    with packed_sql(sqlite3.connect(path)) as con:  # (the JSON packed: bontrack_json unpacks it)
        forms = con.execute(
            "select bontrack_json(data) from outcome_versions "
            "where json_extract(bontrack_json(data), '$.instrument') = 'rand36' "
            "and version = 1 order by id"
        ).fetchall()
        sessions = con.execute(
            "select id, json_extract(j, '$.patient_id'), json_extract(j, '$.date') from "
            "(select id, bontrack_json(data) as j from injection_session_versions where version = 1) "
            "order by json_extract(j, '$.date'), id"
        ).fetchall()
    of_patient: dict[str, list[tuple[str, str]]] = {}
    for session_id, patient_id, day in sessions:
        of_patient.setdefault(patient_id, []).append((id_text(session_id), day))  # (stored as 16 bytes)
    scales = list(load_definition("rand36").scores)
    last_week = max(load_knowledge().files.pathway.outcome_visit_weeks.weeks)
    added = 0
    with transaction(make_engine(url)) as db:
        seen: set[str] = set()
        for (text,) in forms:
            form = json.loads(text)
            patient = form["patient_id"]
            mine = of_patient.get(patient, [])
            if patient in seen or len(mine) < 2:
                continue
            seen.add(patient)
            blank = [scales[added % len(scales)], scales[(added + 3) % len(scales)]]
            # a form without two scales on the day of the patient's second session: the latest
            # outcome before it, without those scales (their baseline is an earlier form's)
            second = dt.date.fromisoformat(mine[1][1])
            data = OutcomeCreate(
                patient_id=patient,
                episode_id=form["episode_id"],
                instrument="rand36",
                date=second,
                answers=_blank_scales(form["answers"], blank),
            )
            record_outcome(db=db, actor=ACTOR, data=data)
            # and a follow-up of the first session without one scale
            first = dt.date.fromisoformat(mine[0][1])
            follow = data.model_copy(
                update={
                    "date": first + dt.timedelta(weeks=last_week),
                    "session_id": mine[0][0],
                    "weeks_after_session": last_week,
                    "answers": _blank_scales(form["answers"], blank[:1]),
                }
            )
            record_outcome(db=db, actor=ACTOR, data=follow)
            added += 1
    assert added >= 8
    # copies of some forms with a scale that is not a number, and of others with none that is
    add_copies(
        path,
        "outcome_versions",
        {"id": "stored_id(id_text(id) || '-nan')", "data": "json_set(data, '$.scoring.scores.pain', 'n/a')"},
        "json_extract(data, '$.instrument') = 'rand36' and rowid % 3 = 0",
    )
    nothing = ", ".join(f"'$.scoring.scores.{s}', 'n/a'" for s in scales)
    add_copies(
        path,
        "outcome_versions",
        {"id": "stored_id(id_text(id) || '-none')", "data": f"json_set(data, {nothing})"},
        "json_extract(data, '$.instrument') = 'rand36' and rowid % 7 = 0",
    )
    return path


def test_one_pass_baselines__every_scores_rows_and_visits_as_an_asof_join_per_score(registry: Path) -> None:
    with transaction(make_engine(f"sqlite:///{registry}")) as db:
        lean = cohort_frames(db=db, actor=ACTOR, committed=True, coded_ids=True, every_score=False)
    got = lean.cycle_rows
    assert isinstance(got, CycleRows)
    duck = got._connection()
    expected = AsofPerScore(duck, REPORT_SCORES)
    pain = REPORT_SCORES.index("pain")
    assert duck.sql(f"select count(*) from outcomes where isnan(score_{pain})").fetchall()[0][0] > 5
    weeks = load_knowledge().files.pathway.outcome_visit_weeks.weeks
    rand36 = [("rand36", s) for s in REPORT_SCORES if s in load_definition("rand36").scores]
    scores = [
        ("nprs", "pain_intensity"),
        ("ndi", "total"),
        *rand36,
        ("ndi", "nothing"),
        ("no such instrument", "total"),
    ]
    middle = lean.sessions["date"].sort_values().iloc[len(lean.sessions) // 2].date()
    compared = differing = 0
    for day in (dt.date(2026, 11, 23), middle):
        # the report's order (one instrument, then the next), then back and forth between them
        for instrument, score in [*scores, *scores[::-3]]:
            label = f"{instrument} {score} {day}"
            every = got.rows(instrument, score, day)
            pd.testing.assert_frame_equal(every, expected.rows(instrument, score, day), obj=label)
            narrow = got.rows(instrument, score, day, columns=NARROW)
            pd.testing.assert_frame_equal(narrow, expected.rows(instrument, score, day, columns=NARROW))
            for cycle, week in [(1, max(weeks)), (1, None), (None, min(weeks)), (2, max(weeks))]:
                part = got.rows(instrument, score, day, cycle=cycle, weeks=week)
                pd.testing.assert_frame_equal(
                    part, expected.rows(instrument, score, day, cycle=cycle, weeks=week), obj=label
                )
            for max_cycle in (1, TRAJECTORY_MAX_CYCLES):
                pd.testing.assert_frame_equal(
                    got.visits(instrument, score, day, max_cycle=max_cycle),
                    expected.visits(instrument, score, day, max_cycle=max_cycle),
                    obj=f"{label} visits",
                )
            compared += len(every)
        # the blank and not-a-number scales: a session's baselines of two scales from different forms
        of_pain = got.rows("rand36", "pain", day).drop_duplicates("session_id")
        for instrument, score in rand36:
            firsts = of_pain.merge(
                got.rows(instrument, score, day).drop_duplicates("session_id"), on="session_id"
            )
            differing += int((firsts["baseline_obs_x"] != firsts["baseline_obs_y"]).sum())
    assert compared > 1000 and differing > 20
