"""The report's read with ids coded by DuckDB (``cohort_frames(coded_ids=True)``, what
`bontrack report` uses) gives the frames ``sections.frames.coded`` makes from the read with text
ids, and so the same report, from the SQLite file, the session's connection and a Parquet export."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.content import build_report
from bontrack.reports.data import CohortFrames, cohort_frames, parquet_frames
from bontrack.reports.sections.frames import coded
from bontrack.storage.engine import make_engine, transaction
from demo_exports import copy_of_registry, demo_with_parquet

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
        (session_id,) = con.execute(
            "select id from injection_session_versions order by id limit 1"
        ).fetchone()
        columns = [r[1] for r in con.execute("pragma table_info(injection_session_versions)")]
        values = ", ".join(
            "version + 1"
            if c == "version"
            else "json_set(data, '$.product', 'corrected')"
            if c == "data"
            else c
            for c in columns
        )
        con.execute(
            f"insert into injection_session_versions ({', '.join(columns)}) "
            f"select {values} from injection_session_versions where id = ?",
            (session_id,),
        )
    with transaction(make_engine(f"sqlite:///{copy}")) as db:
        text_ids = cohort_frames(db=db, actor="test", committed=True)
        ids_coded = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
    sessions = text_ids.sessions
    assert (sessions["session_id"] == session_id).sum() == 1
    assert sessions.loc[sessions["session_id"] == session_id, "product"].item() == "corrected"
    _same(ids_coded, coded(text_ids), "corrected")
