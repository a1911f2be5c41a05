"""The report's columnar reads: the SQLite file read by the ADBC driver, the session's own
connection and a Parquet export folder give the same frames, and so the same report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bontrack.reports.data import CohortFrames, cohort_frames, parquet_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import bontrack, copy_of_registry, demo_with_parquet, packed_sql

AS_OF = "2026-08-31"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A demo clinic with a withdrawn session, and its Parquet export."""
    folder = tmp_path_factory.mktemp("columnar")
    return demo_with_parquet(folder, patients=60, seed=4242), folder


def _frames(frames: CohortFrames) -> dict[str, pd.DataFrame]:
    return {
        "patients": frames.patients,
        "sessions": frames.sessions,
        "measurements": frames.measurements,
        "adverse_events": frames.adverse_events,
        "stock": frames.stock,
    }


def test_frames__adbc_read_equals_the_sessions_connection_and_the_parquet_export(
    registry: tuple[str, Path],
) -> None:
    url, folder = registry
    with transaction(make_engine(url)) as db:
        through_session = cohort_frames(db=db, actor="test")
        through_adbc = cohort_frames(db=db, actor="test", committed=True)
    from_parquet = parquet_frames(folder / "parquet")
    assert len(through_session.measurements) > 100
    for name, frame in _frames(through_session).items():
        pd.testing.assert_frame_equal(_frames(through_adbc)[name], frame, obj=f"adbc {name}")
        if name == "patients":  # birth dates: the export's typed date as text, the same text
            frame = frame.astype({"birth_date": object})
        pd.testing.assert_frame_equal(
            _frames(from_parquet)[name].reset_index(drop=True),
            frame.reset_index(drop=True),
            obj=f"parquet {name}",
            check_dtype=name != "stock",
        )


def test_report__from_parquet_is_the_report_from_the_registry(registry: tuple[str, Path]) -> None:
    url, folder = registry
    out = folder / "db.json"
    assert bontrack("--db", url, "report", "--json", "--out", str(out), "--date", AS_OF).exit_code == 0
    parquet = folder / "pq.json"
    result = bontrack(
        "report", "--from-parquet", str(folder / "parquet"), "--json", "--out", str(parquet), "--date", AS_OF
    )
    assert result.exit_code == 0, result.output
    from_db, from_files = json.loads(out.read_text()), json.loads(parquet.read_text())
    assert from_db["summary"]["sessions"] > 50
    assert from_files == from_db


def test_report__from_parquet_names_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    result = bontrack("report", "--from-parquet", str(tmp_path), "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "--from-parquet" in result.output and "patient.parquet" in result.output
    assert not (tmp_path / "r.html").exists()


def test_frames__a_missing_date_stays_missing_in_the_columnar_read(
    registry: tuple[str, Path], tmp_path: Path
) -> None:
    # a registry imported from elsewhere may hold an adverse event with no reported date: the
    # pandas read gives NaT; DuckDB's greatest() passes NULL over and gave 1900-01-01
    import sqlite3

    _url, folder = registry
    copy = copy_of_registry(folder, tmp_path / "copy.db")
    with packed_sql(sqlite3.connect(copy)) as con:
        # every version of every event (which versions are current depends on the demo's order)
        changed = con.execute(
            "update adverse_event_versions "
            "set data = bontrack_pack(json_remove(bontrack_json(data), '$.reported_date'))"
        ).rowcount
    assert changed > 0
    with transaction(make_engine(f"sqlite:///{copy}")) as db:
        through_session = cohort_frames(db=db, actor="test")
        through_adbc = cohort_frames(db=db, actor="test", committed=True)
    events = through_session.adverse_events
    assert len(events) > 0 and events["reported_date"].isna().all()
    pd.testing.assert_frame_equal(through_adbc.adverse_events, through_session.adverse_events)
