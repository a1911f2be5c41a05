"""The query planner's statistics: after `bontrack demo` a patient's records are read through the
patient's index, not the clinic's (on a one-clinic registry the clinic's index reads every row)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.dialects import sqlite as sqlite_dialect

from bontrack import records
from bontrack.outcomes.models import OutcomeRow
from bontrack.storage.engine import make_engine, refresh_statistics
from tests.synth.conftest import Clinic


def _plan(db: Path) -> list[str]:
    """How SQLite reads one patient's current outcomes (the chart's look-up)."""
    with sqlite3.connect(db) as con:
        patient_id, clinic_id = con.execute(
            "SELECT patient_id, clinic_id FROM outcome_versions LIMIT 1"
        ).fetchone()
        statement = records.find_statement(OutcomeRow, {"patient_id": patient_id, "clinic_id": clinic_id})
        sql = str(statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))
        return [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}")]


def _outer_read(plan: list[str]) -> str:
    return next(
        step for step in plan if step.startswith(("SEARCH outcome_versions ", "SCAN outcome_versions"))
    )


def test_demo_leaves_statistics_and_a_patient_is_read_by_its_index(moderate_clinic: Clinic) -> None:
    with sqlite3.connect(moderate_clinic.db) as con:
        analysed = {row[0] for row in con.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    assert {"outcome_versions", "injection_session_versions", "patient_versions", "due_items"} <= analysed
    assert "INDEX ix_outcome_versions_patient_id" in _outer_read(_plan(moderate_clinic.db))


def test_without_statistics_the_clinic_index_is_read_and_refreshing_mends_it(
    moderate_clinic: Clinic, tmp_path: Path
) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(moderate_clinic.db, db)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM sqlite_stat1")
    before = _outer_read(_plan(db))
    assert "patient_id" not in before, before  # the guess this change is about
    engine = make_engine(f"sqlite:///{db}")
    try:
        refresh_statistics(engine)
    finally:
        engine.dispose()
    assert "INDEX ix_outcome_versions_patient_id" in _outer_read(_plan(db))
