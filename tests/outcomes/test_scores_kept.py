"""The current outcomes and their scores kept as records are written (bontrack.outcomes.scores_kept,
the table ``outcome_scores`` the report reads) equal their derivation from scratch after any sequence of
writes through the services (outcomes added, corrected, withdrawn; sessions, patients and the
rest beside them; single units, several writes a unit, savepoints rolled back, bulk blocks), after
a demo clinic's generation and an import; the report's outcomes read from the table equal those
read from every version's JSON; the weeks are typed as the report typed them from the JSON; the
table is derived at migration 0014 and dropped on its downgrade. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import pytest
from alembic import command
from sqlalchemy import Engine, delete, inspect
from sqlalchemy.orm import Session
from tests.scheduling.test_due_items_kept import WORLDS, Clinic, Outcomes

from bontrack.exchange.jsonl import export_lines, import_lines
from bontrack.outcomes import scores_kept
from bontrack.outcomes.models import OutcomeRow, OutcomeScoreRow
from bontrack.reports.columnar import Field, _typed, connect, load_current, to_frame
from bontrack.reports.columnar_scores import load_scores
from bontrack.reports.data import OUTCOME_FIELDS, REPORT_SCORES, cohort_frames
from bontrack.storage.bulk import bulk
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import ACTOR, clinic_world, saved_session

WRITES = 60


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["clinic_id"], row["outcome_id"])


def _same(db: Session, clinic_id: str | None = None) -> list[dict[str, Any]]:
    """The table's rows, which must equal the derivation from scratch (sorted by their key)."""
    kept = sorted(scores_kept.kept(db, clinic_id), key=_key)
    assert kept == sorted(scores_kept.derive_clinic(db, clinic_id), key=_key)
    return kept


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_scores__equal_the_derivation_from_scratch_after_random_writes(
    engine: Engine, seed: int
) -> None:
    rng = random.Random(seed)
    with transaction(engine) as db:
        worlds = [clinic_world(db, record_number=f"P-{n:03d}") for n in range(WORLDS)]
    clinic = Clinic(worlds, rng)
    written, seen = 0, 0
    while written < WRITES:
        unit = rng.randrange(1, 5)
        with transaction(engine) as db:
            if rng.random() < 0.25:  # a bulk block (the generator's and the import's writer)
                with bulk(db):
                    for _ in range(unit):
                        clinic.one(db)
            else:
                for _ in range(unit):
                    clinic.one(db)
                    if rng.random() < 0.3:  # read within the unit: kept up to date before reading
                        _same(db)
        written += unit
        with transaction(engine) as db:  # and as committed
            seen = max(seen, len(_same(db)))
    assert seen > 3, "some outcomes were kept"


def _from_json(db: Session, duck: duckdb.DuckDBPyConnection, scores: Sequence[str]) -> pd.DataFrame:
    """The report's outcomes as read before the table: from every version's JSON."""
    fields = [
        *OUTCOME_FIELDS,
        *(Field(f"score_{i}", f"scoring.scores.{s}", "measure") for i, s in enumerate(scores)),
    ]
    n = load_current(db, OutcomeRow, None, fields, duck=duck, into="from_json")
    assert load_scores(db, None, fields, duck=duck, into="from_table") == n
    return to_frame(duck.sql("select * from from_json").to_arrow_table())


def _from_table(db: Session, duck: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return to_frame(duck.sql("select * from from_table").to_arrow_table())


def test_demo_and_random_outcome_writes__the_reports_outcomes_from_the_table_equal_those_from_json(
    engine: Engine,
) -> None:
    with transaction(engine) as db:
        summary = load(db, actor="test:setup", batches=generate(20, seed=4))
    assert summary.clinic_id is not None
    rng = random.Random(4)
    with transaction(engine) as db:
        outcomes = Outcomes(db, rng)
    for step in range(6):
        with transaction(engine) as db:
            for _ in range(4 if step else 0):  # the demo as generated, then after each few writes
                outcomes.one(db)
            assert _same(db, summary.clinic_id)
            duck = connect()
            try:
                expected = _from_json(db, duck, REPORT_SCORES)
                got = _from_table(db, duck)
            finally:
                duck.close()
            assert len(expected) > 100
            pd.testing.assert_frame_equal(got, expected)


def test_import__fills_the_table(engine: Engine, second_engine: Engine) -> None:
    with transaction(engine) as db:
        load(db, actor="test:setup", batches=generate(12, seed=5))
    with transaction(engine) as db:
        lines = export_lines(db=db, actor=ACTOR)
        source = _same(db)
    with transaction(second_engine) as db:
        assert import_lines(db=db, actor=ACTOR, lines=lines) > 0
    with transaction(second_engine) as db:
        imported = _same(db)
    # the same outcomes and scores (the import stores each record's JSON as it writes it: the
    # object's text may differ, its values do not)
    assert [_parsed(r) for r in imported] == [_parsed(r) for r in source] and len(source) > 50


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "scores": None if row["scores"] is None else json.loads(row["scores"])}


def test_rebuild__derives_the_table_again_from_the_records(engine: Engine) -> None:
    with transaction(engine) as db:
        load(db, actor="test:setup", batches=generate(8, seed=6))
    with transaction(engine) as db:
        before = _same(db)
        db.execute(delete(OutcomeScoreRow.__table__))  # (a derived table: lost, it is derived again)
    with transaction(engine) as db:
        assert scores_kept.kept(db, None) == []
        frames = cohort_frames(db=db, actor=ACTOR, coded_ids=True)
        assert len(frames.measurements) == 0  # the report reads its scores from the table
        assert scores_kept.rebuild(db) == len(before) > 0
    with transaction(engine) as db:
        assert _same(db) == before
        assert len(cohort_frames(db=db, actor=ACTOR, coded_ids=True).measurements) > 0


# a field as the JSON may hold it -> the report's reading of it as a number (DuckDB: ``_typed``)
ODD_NUMBERS: list[Any] = [7, 0, -2.5, 1e-17, 33.333333333333336, "4.5", "abc", "", True, False, [1], None]


def test_weeks__typed_as_the_report_typed_them_from_the_json() -> None:
    scores = {"pain_intensity": 4}
    outcomes = [(f"o{i}", "p", "s", v, "2026-01-02", "nprs", scores) for i, v in enumerate(ODD_NUMBERS)]
    odd = [("x", "p", None, None, "2026-13-45", None, "x"), ("y", "p", None, None, None, None, "x")]
    rows = scores_kept.outcome_rows("c", [*outcomes, *odd])
    duck = duckdb.connect()
    for row, number in zip(rows, ODD_NUMBERS, strict=False):
        text = json.dumps(number)
        picked = f"json_extract_string({_literal(text)}, '$')"
        (expected,) = duck.execute(f"select {_typed(picked, None, 'number')}").fetchone() or (None,)
        assert row["weeks_after_session"] == expected, (text, row["weeks_after_session"], expected)
        assert row["date"] == dt.date(2026, 1, 2) and json.loads(row["scores"]) == scores
    assert rows[-1]["scores"] is None and rows[-1]["date"] is None  # no object of scores: none kept
    assert rows[-2]["date"] is None  # not a date: none (a derived row never stops a write)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as conn:
        getattr(command, how)(_alembic_config(conn), revision)


def test_migration_0014__derives_the_table_and_its_downgrade_drops_it(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            world = clinic_world(db)
            saved_session(db, world)
            load(db, actor="test:setup", batches=generate(5, seed=7))
        with transaction(engine) as db:
            before = _same(db)
        _migrate(engine, "downgrade", "0013_audit_filed_in_batches")
        assert "outcome_scores" not in inspect(engine).get_table_names()
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            assert _same(db) == before and len(before) > 20
    finally:
        engine.dispose()
