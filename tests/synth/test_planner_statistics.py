"""The query planner's statistics: after `bontrack demo` a patient's records are read through the
patient's index, not the clinic's (on a one-clinic registry the clinic's index reads every row)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.outcomes.models import OutcomeRow
from bontrack.scheduling import due
from bontrack.storage import record_json
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


def test_due_items_of_a_thousand_patients_are_read_by_the_patients_index(
    moderate_clinic: Clinic, tmp_path: Path
) -> None:
    """The due items of the patients a bulk block wrote (an import's, a thousand a query) read
    those patients' rows by the patient index, in a registry without statistics (an import's, as
    it runs), not the whole clinic by its index nor the whole table in key order (at a million
    patients each query read every row)."""
    db = tmp_path / "copy.db"
    shutil.copy(moderate_clinic.db, db)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM sqlite_stat1")
        clinic_id = con.execute("SELECT clinic_id FROM patient_versions LIMIT 1").fetchone()[0]
        patient_ids = [row[0] for row in con.execute("SELECT DISTINCT id FROM patient_versions")]
    assert len(patient_ids) > 1, "the clinic has patients"
    assert len(patient_ids) <= due.PATIENTS_PER_QUERY, "one query reads them all"
    engine = make_engine(f"sqlite:///{db}")
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with Session(engine) as db_session:
            facts = due.load_facts(db_session, clinic_id, patient_ids)
    finally:
        engine.dispose()
    assert len(facts.patients) == len(patient_ids)
    reads = [(s, p) for s, p in statements if "_versions" in s]
    assert len(reads) >= 5, statements
    with sqlite3.connect(db) as con:
        record_json.register(con)  # bontrack_json(data), which the statements call
        for statement, parameters in reads:
            table = re.search(r"FROM (\w+_versions)", statement)
            assert table, statement
            plan = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            outer = next(step for step in plan if re.match(rf"(SEARCH|SCAN) {table[1]} ", step + " "))
            assert outer.startswith(f"SEARCH {table[1]} USING INDEX "), (outer, statement)
            if table[1] == "patient_versions":
                assert "(id=?)" in outer, outer
            else:
                assert "(patient_id=?)" in outer, outer
            # the ids' order is kept without a sort of every row of the clinic
    assert list(facts.patients) == sorted(facts.patients)
