"""The report's read with ids coded by DuckDB (``cohort_frames(coded_ids=True)``, what
`bontrack report` uses) gives the frames ``sections.frames.coded`` makes from the read with text
ids, and so the same report, from the SQLite file, the session's connection and a Parquet export."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bontrack.analytics.cycles import cycle_outcomes, judged_rows, number_cycles
from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.content import build_report
from bontrack.reports.data import CohortFrames, cohort_frames, parquet_frames
from bontrack.reports.sections.common import response_rule
from bontrack.reports.sections.frames import as_of, coded
from bontrack.reports.sections.profile import rand36_scales
from bontrack.storage.engine import make_engine, transaction
from bontrack.storage.record_ids import id_text
from demo_exports import add_copies, copy_of_registry, demo_with_parquet

NAMES = ("patients", "sessions", "measurements", "adverse_events")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A demo clinic and its Parquet export."""
    folder = tmp_path_factory.mktemp("coded")
    return demo_with_parquet(folder, patients=40, seed=99), folder


def _same(frames: CohortFrames, expected: CohortFrames, label: str) -> None:
    assert frames.ids_coded
    for name in NAMES:
        pd.testing.assert_frame_equal(
            getattr(frames, name).reset_index(drop=True),
            getattr(expected, name).reset_index(drop=True),
            obj=f"{label} {name}",
        )


def test_coded_read__the_codes_pandas_makes_from_every_source(registry: tuple[str, Path]) -> None:
    url, folder = registry
    with transaction(make_engine(url)) as db:
        text_ids = cohort_frames(db=db, actor="test")
        through_session = cohort_frames(db=db, actor="test", coded_ids=True)
        through_adbc = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
    expected = coded(text_ids)
    assert len(expected.measurements) > 100 and expected.measurements["session_id"].isna().any()
    _same(through_session, expected, "session")
    _same(through_adbc, expected, "adbc")
    _same(
        parquet_frames(folder / "parquet", coded_ids=True),
        coded(parquet_frames(folder / "parquet")),
        "parquet",
    )


def test_coded_read__the_same_report(registry: tuple[str, Path]) -> None:
    url, _folder = registry
    day = dt.date(2026, 11, 23)
    with transaction(make_engine(url)) as db:
        text_ids = cohort_frames(db=db, actor="test", committed=True)
        ids_coded = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
    kb = load_knowledge()
    expected = build_report(text_ids, kb, today=day).to_dict()
    assert expected["summary"]["patients"] > 0
    assert build_report(ids_coded, kb, today=day).to_dict() == expected


def test_coded_read__a_corrected_record_counts_once_at_its_newest_version(
    registry: tuple[str, Path], tmp_path: Path
) -> None:
    # a second version of a session (as a correction adds): the newest is read, the first is not
    _url, folder = registry
    copy = copy_of_registry(folder, tmp_path / "copy.db")
    with sqlite3.connect(copy) as con:
        (stored,) = con.execute("select id from injection_session_versions order by id limit 1").fetchone()
    corrected = {"version": "version + 1", "data": "json_set(data, '$.product', 'corrected')"}
    add_copies(copy, "injection_session_versions", corrected, "id = ?", stored)
    session_id = id_text(stored)  # (stored as 16 bytes)
    with transaction(make_engine(f"sqlite:///{copy}")) as db:
        text_ids = cohort_frames(db=db, actor="test", committed=True)
        ids_coded = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
    sessions = text_ids.sessions
    assert (sessions["session_id"] == session_id).sum() == 1
    assert sessions.loc[sessions["session_id"] == session_id, "product"].item() == "corrected"
    _same(ids_coded, coded(text_ids), "corrected")


def _identities(rows: pd.DataFrame) -> np.ndarray:
    """``obs`` and ``baseline_obs`` (which identify a score, each join numbering them its own
    way) as the order in which each score first appears along the rows: the same scores in the
    same roles give the same numbers."""
    both = np.column_stack([rows["obs"].to_numpy(float), rows["baseline_obs"].to_numpy(float)]).ravel()
    codes, _ = pd.factorize(both)
    return codes


def _each_score_as_pandas_joins_it(frames: CohortFrames, long: CohortFrames, day: dt.date) -> int:
    """Every report score's rows from DuckDB (``frames.cycle_rows``) against ``cycle_outcomes``
    of the long frame of the same read (``long``) as of ``day``: the same rows, values and
    order. Returns how many rows were compared."""
    kb = load_knowledge()
    assert frames.cycle_rows is not None
    kept = as_of(long, day)
    sessions = number_cycles(kept.sessions)
    compared = 0
    for instrument, score in [("nprs", "pain_intensity"), ("ndi", "total")] + [
        ("rand36", s) for s in rand36_scales()
    ]:
        rule = response_rule(kb, instrument, score)
        expected = cycle_outcomes(sessions, kept.measurements, rule)
        got = judged_rows(frames.cycle_rows.rows(instrument, score, day), rule)
        assert len(expected) == len(got)
        np.testing.assert_array_equal(_identities(got), _identities(expected))
        if len(expected):
            pd.testing.assert_frame_equal(
                got.drop(columns=["obs", "baseline_obs"]),
                expected.drop(columns=["obs", "baseline_obs"]),
                check_dtype=False,
                obj=f"{instrument} {score}",
            )
        compared += len(got)
    return compared


def test_coded_read__each_scores_cycle_rows_joined_by_duckdb_as_pandas_joins_them(
    registry: tuple[str, Path], tmp_path: Path
) -> None:
    # a second score of the same instrument on the same day as another (the baseline is the
    # later of the two in the order of their ids) and the report date cutting cycles in two;
    # the rows from a read that sorted the outcomes and from one that did not (every_score=False)
    _url, folder = registry
    copy = copy_of_registry(folder, tmp_path / "ties.db")
    again = {
        "id": "stored_id(id_text(id) || '-again')",
        "data": "json_set(data, '$.scoring.scores.pain_intensity', 3)",
    }
    # rows appended: in the table's order they come last, in the ids' order beside their twin
    add_copies(
        copy, "outcome_versions", again, "json_extract(data, '$.instrument') = 'nprs' and rowid % 3 = 0"
    )
    with transaction(make_engine(f"sqlite:///{copy}")) as db:
        long = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
        lean = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    assert len(lean.measurements) == 0 and len(long.measurements) > 100
    dates = long.sessions["date"].sort_values()
    middle = dates.iloc[len(dates) // 2].date()
    for frames in (long, lean):
        assert _each_score_as_pandas_joins_it(frames, long, dt.date(2026, 11, 23)) > 100
        assert _each_score_as_pandas_joins_it(frames, long, middle) > 10
        assert _each_score_as_pandas_joins_it(frames, long, middle + dt.timedelta(days=1)) > 10


def test_coded_read__the_same_report_without_the_long_frame(registry: tuple[str, Path]) -> None:
    # what bontrack report reads: the scores left in DuckDB (no long frame, outcomes unsorted),
    # from the SQLite file, the session's connection and the Parquet export, as of two dates
    url, folder = registry
    kb = load_knowledge()
    with transaction(make_engine(url)) as db:
        text_ids = cohort_frames(db=db, actor="test", committed=True)
        lean = [
            cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False),
            cohort_frames(db=db, actor="test", coded_ids=True, every_score=False),
        ]
    lean.append(parquet_frames(folder / "parquet", coded_ids=True, every_score=False))
    middle = text_ids.sessions["date"].sort_values().iloc[len(text_ids.sessions) // 2].date()
    for day in (dt.date(2026, 11, 23), middle):
        expected = build_report(text_ids, kb, today=day).to_dict()
        assert expected["summary"]["outcome_visits_with_pain_score"] > 0
        for frames in lean:
            assert len(frames.measurements) == 0
            assert build_report(frames, kb, today=day).to_dict() == expected
