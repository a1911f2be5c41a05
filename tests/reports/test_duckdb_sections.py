"""The parts of the report's analysis made by DuckDB from the read's tables (``reports.cycle_rows``)
against the pandas functions they stand for, on the frames of the same read: the same rows,
values and order (so the same floats from the sums over them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bontrack.analytics.cycles import cycle_outcomes, number_cycles
from bontrack.analytics.trajectories import visit_frame
from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.cycle_rows import NARROW, SECTIONS
from bontrack.reports.data import cohort_frames
from bontrack.reports.sections.common import TRAJECTORY_MAX_CYCLES, response_rule
from bontrack.reports.sections.frames import as_of
from bontrack.storage.engine import make_engine, transaction
from demo_exports import add_copies, copy_of_registry, demo_with_parquet


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A demo clinic and its Parquet export."""
    folder = tmp_path_factory.mktemp("duckdb_sections")
    return demo_with_parquet(folder, patients=40, seed=99), folder


def test_duckdb_sections__each_scores_visits_as_visit_frame_makes_them(
    registry: tuple[str, Path], tmp_path: Path
) -> None:
    # the trajectory's long frame (CycleRows.visits): each cycle's baseline as its week 0, a
    # baseline shared by two cycles counted once (at the earlier), follow-ups that are a later
    # cycle's baseline left out; the same rows, values and order as visit_frame of the rows
    _url, folder = registry
    copy = copy_of_registry(folder, tmp_path / "visits.db")
    again = {
        "id": "stored_id(id_text(id) || '-again')",
        "data": "json_set(data, '$.scoring.scores.pain_intensity', 3)",
    }
    add_copies(
        copy, "outcome_versions", again, "json_extract(data, '$.instrument') = 'nprs' and rowid % 3 = 0"
    )
    # a session repeated the next day with its follow-ups (no score between the two sessions):
    # one baseline for two cycles
    repeated = "select id_text(id) from injection_session_versions where rowid % 4 = 0"
    follow = {
        "id": "stored_id(id_text(id) || '-next')",
        "data": "json_set(data, '$.session_id', json_extract(data, '$.session_id') || '-next', "
        "'$.date', date(json_extract(data, '$.date'), '+1 day'))",
    }
    add_copies(copy, "outcome_versions", follow, f"json_extract(data, '$.session_id') in ({repeated})")
    later = {
        "id": "stored_id(id_text(id) || '-next')",
        "data": "json_set(data, '$.date', date(json_extract(data, '$.date'), '+1 day'))",
    }
    add_copies(copy, "injection_session_versions", later, f"id_text(id) in ({repeated})")
    with transaction(make_engine(f"sqlite:///{copy}")) as db:
        long = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
        lean = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    assert lean.cycle_rows is not None
    kb = load_knowledge()
    middle = long.sessions["date"].sort_values().iloc[len(long.sessions) // 2].date()
    shared = compared = 0
    for day in (dt.date(2026, 11, 23), middle):
        kept = as_of(long, day)
        sessions = number_cycles(kept.sessions)
        for instrument, score in [("nprs", "pain_intensity"), ("ndi", "total"), ("rand36", "pain")]:
            rows = cycle_outcomes(sessions, kept.measurements, response_rule(kb, instrument, score))
            for max_cycle in (1, TRAJECTORY_MAX_CYCLES):
                expected = visit_frame(rows, max_cycle=max_cycle)[["patient_id", "cycle", "weeks", "value"]]
                got = lean.cycle_rows.visits(instrument, score, day, max_cycle=max_cycle)
                pd.testing.assert_frame_equal(
                    got.reset_index(drop=True),
                    expected.reset_index(drop=True),
                    check_dtype=False,
                    obj=f"{instrument} {score} {day} up to cycle {max_cycle}",
                )
                compared += len(got)
            firsts = rows.drop_duplicates("session_id").dropna(subset=["baseline"])
            shared += int(firsts["baseline_obs"].duplicated().sum())
    assert compared > 1000 and shared > 0


def test_duckdb_sections__a_scores_narrow_rows_are_its_rows_columns(registry: tuple[str, Path]) -> None:
    # the scores other than the pain score are read in the columns their sections read (NARROW):
    # the same rows in the same order as those columns of every row; the join kept per score
    url, _folder = registry
    with transaction(make_engine(url)) as db:
        lean = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    assert lean.cycle_rows is not None
    day = dt.date(2026, 11, 23)
    for instrument, score in [("ndi", "total"), ("rand36", "pain"), ("nprs", "pain_intensity")]:
        every = lean.cycle_rows.rows(instrument, score, day)
        assert len(every) > 10
        for columns in (NARROW, SECTIONS):
            narrow = lean.cycle_rows.rows(instrument, score, day, columns=columns)
            assert list(narrow.columns) == list(columns)
            pd.testing.assert_frame_equal(narrow, every[list(columns)], obj=f"{instrument} {score}")
    with pytest.raises(ValueError, match="every row"):
        lean.cycle_rows.rows("ndi", "total", day, cycle=1, columns=NARROW)
