"""The current sessions' fields kept as records are written (bontrack.injections.fields_kept, the
table ``session_fields`` the report reads) equal their derivation from scratch after any sequence
of writes through the services (sessions added, corrected, withdrawn; outcomes, patients and the
rest beside them; single units, several writes a unit, savepoints rolled back, bulk blocks), after
a demo clinic's generation and an import; the report's sessions read from the table equal those
read from every version's JSON; odd values are typed as the report typed them from the JSON; the
table is derived at migration 0015 and dropped on its downgrade. Real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import Engine, delete, inspect
from sqlalchemy.orm import Session
from tests.scheduling.test_due_items_kept import WORLDS, Clinic

from bontrack.exchange.jsonl import export_lines, import_lines
from bontrack.injections import fields_kept
from bontrack.injections.models import InjectionSessionRow, SessionFieldRow
from bontrack.injections.schemas import SessionCreate
from bontrack.injections.service import get_session, update_session
from bontrack.reports.columnar import Field, _json_picks, connect, load_current, to_frame
from bontrack.reports.columnar_sessions import _field_sql, load_sessions
from bontrack.reports.data import SESSION_FIELDS, cohort_frames
from bontrack.storage.bulk import bulk
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import ACTOR, clinic_world, saved_session

WRITES = 60


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["clinic_id"], row["session_id"])


def _same(db: Session, clinic_id: str | None = None) -> list[dict[str, Any]]:
    """The table's rows, which must equal the derivation from scratch (sorted by their key)."""
    kept = sorted(fields_kept.kept(db, clinic_id), key=_key)
    assert kept == sorted(fields_kept.derive_clinic(db, clinic_id), key=_key)
    return kept


class Sessions(Clinic):
    """The random writes of the due items' test, and sessions corrected among them."""

    def correct_session(self, db: Session) -> None:
        world = self.world()
        own = self.sessions[world.patient_id]
        if not own:
            return
        session_id, _ = self.rng.choice(own)
        data = get_session(db=db, actor=ACTOR, session_id=session_id).data
        changed = data.model_dump(mode="json")  # the plan (what the engine said is derived again)
        changed["vial_units"] = self.rng.choice((100, 200))
        changed["sites"] = [dict(s, units=self.rng.choice((10, 25, 40))) for s in changed["sites"]]
        plan = SessionCreate.model_validate(
            {k: v for k, v in changed.items() if k in SessionCreate.model_fields}
        )
        update_session(db=db, actor=ACTOR, session_id=session_id, data=plan, reason="typed wrong")

    def outcome(self, db: Session) -> None:
        try:
            super().outcome(db)
        except ValidationError:  # a follow-up dated after tomorrow (a late session's): not made
            return

    def writes(self) -> list[tuple[Callable[[Session], None], int]]:
        return [*super().writes(), (self.correct_session, 4)]


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_fields__equal_the_derivation_from_scratch_after_random_writes(
    engine: Engine, seed: int
) -> None:
    rng = random.Random(seed)
    with transaction(engine) as db:
        worlds = [clinic_world(db, record_number=f"P-{n:03d}") for n in range(WORLDS)]
    clinic = Sessions(worlds, rng)
    written, seen, corrected = 0, 0, False
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
            corrected = corrected or bool(
                db.query(InjectionSessionRow).filter(InjectionSessionRow.version > 1).count()
            )
    assert seen > 3, "some sessions were kept"
    assert corrected, "some sessions were corrected"


def _frames(db: Session, duck: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's sessions as read from every version's JSON, and from the table."""
    n = load_current(db, InjectionSessionRow, None, SESSION_FIELDS, duck=duck, into="from_json")
    assert load_sessions(db, None, SESSION_FIELDS, duck=duck, into="from_table") == n
    json_frame = to_frame(duck.sql("select * from from_json").to_arrow_table())
    return json_frame, to_frame(duck.sql("select * from from_table").to_arrow_table())


def test_demo_and_random_session_writes__the_reports_sessions_from_the_table_equal_those_from_json(
    engine: Engine,
) -> None:
    with transaction(engine) as db:
        summary = load(db, actor="test:setup", batches=generate(20, seed=4))
        worlds = [clinic_world(db, record_number=f"W-{n:03d}") for n in range(WORLDS)]
    assert summary.clinic_id is not None
    clinic = Sessions(worlds, random.Random(4))
    for step in range(6):
        with transaction(engine) as db:
            for _ in range(8 if step else 0):  # the demo as generated, then after each few writes
                clinic.one(db)
            assert _same(db)
            duck = connect()
            try:
                expected, got = _frames(db, duck)
            finally:
                duck.close()
            assert len(expected) > 30 and expected["physical_therapy"].any()  # (overrides: the odd values)
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
    assert imported == source and len(source) > 20


def test_rebuild__derives_the_table_again_from_the_records(engine: Engine) -> None:
    with transaction(engine) as db:
        load(db, actor="test:setup", batches=generate(8, seed=6))
    with transaction(engine) as db:
        before = _same(db)
        db.execute(delete(SessionFieldRow.__table__))  # (a derived table: lost, it is derived again)
    with transaction(engine) as db:
        assert fields_kept.kept(db, None) == []
        assert len(cohort_frames(db=db, actor=ACTOR).sessions) == 0  # the report reads the table
        assert fields_kept.rebuild(db) == len(before) > 0
    with transaction(engine) as db:
        assert _same(db) == before
        assert len(cohort_frames(db=db, actor=ACTOR).sessions) == len(before)


# a field as the JSON may hold it (each of the report's kinds of session field reads it)
ODD_VALUES: list[Any] = [
    7,
    0,
    -2.5,
    1e-17,
    33.333333333333336,
    "4.5",
    "abc",
    "",
    "true",
    True,
    False,
    [1],
    {"reason": "x"},
    {},
    None,
]


def test_odd_values__typed_as_the_report_typed_them_from_the_json() -> None:
    """Each kind (text, number, flag, present) of every odd value: the table's row read by
    ``load_sessions``' expressions equals ``load_current``'s reading of the same JSON."""
    paths = list(fields_kept.SESSION_PATHS)
    sessions = []
    for i, value in enumerate(ODD_VALUES):
        values = [value if p not in ("patient_id", "date") else None for p in paths]
        values[paths.index("date")] = "2026-01-02" if i % 2 else None
        sessions.append((f"s{i:02d}", *values))
    rows = fields_kept.session_rows("c", sessions)
    fields = [Field(f"f{i}", p, kind) for i, (p, kind) in enumerate(fields_kept.SESSION_PATHS.items())]  # type: ignore[arg-type]
    duck = duckdb.connect()
    docs = []
    for sid, *values in sessions:
        doc: dict[str, Any] = {}
        for path, value in zip(paths, values, strict=True):
            if path == "decision.decision":
                doc["decision"] = {"decision": value}
            elif value is not None or path == "override":
                doc[path] = value
        docs.append((sid, json.dumps(doc)))
    duck.execute(
        "create table batch (id varchar, version bigint, withdrawn boolean, clinic_id varchar, data varchar)"
    )
    duck.executemany("insert into batch values (?, 1, false, 'c', ?)", docs)
    from_json = duck.execute(f"select * from ({_json_picks(fields, [])}) order by id").fetchall()
    assert len(from_json) == len(rows) == len(ODD_VALUES)
    table = pa.Table.from_pylist(rows)  # the table's columns, typed as stored
    duck.register("kept", table)
    picks = ", ".join(f"{_field_sql(f.path, f.kind)} as {f.name}" for f in fields)
    numbers = [fields_kept.column(p) for p, k in fields_kept.SESSION_PATHS.items() if k == "number"]
    flags = ", ".join(f"({n} is null)::int as no_{n}" for n in numbers)
    texts = [fields_kept.column(p) for p, k in fields_kept.SESSION_PATHS.items() if k == "text"]
    stored = ", ".join(
        [
            "cast(date as varchar) as date",
            "physical_therapy::int as physical_therapy, override::int as override",
            *(f"coalesce('=' || {n}, '') as {n}" for n in texts),  # (as ``_session_sql`` reads them)
        ]
    )
    got = duck.execute(
        f"select session_id, {picks} from (select * replace ({stored}), {flags} from kept) order by 1"
    ).fetchall()
    for json_row, table_row, value in zip(from_json, got, ODD_VALUES, strict=True):
        assert tuple(json_row[4:]) == tuple(table_row[1:]), (value, json_row, table_row)


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as conn:
        getattr(command, how)(_alembic_config(conn), revision)


def test_migration_0015__derives_the_table_and_its_downgrade_drops_it(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            world = clinic_world(db)
            saved_session(db, world)
            load(db, actor="test:setup", batches=generate(5, seed=7))
        with transaction(engine) as db:
            before = _same(db)
        _migrate(engine, "downgrade", "0014_outcome_scores")
        assert "session_fields" not in inspect(engine).get_table_names()
        older = make_engine(db_url)  # (an engine remembers a derived table it saw: a new one)
        try:
            with transaction(older) as db:  # the report reads the sessions' JSON then: the same rows
                assert len(cohort_frames(db=db, actor=ACTOR).sessions) == len(before)
        finally:
            older.dispose()
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            assert _same(db) == before and len(before) > 10
    finally:
        engine.dispose()


def test_the_table_keeps_exactly_the_fields_the_report_reads_of_a_session() -> None:
    """The storage side cannot import the report's field list: the two are kept equal here."""
    assert {f.path: f.kind for f in SESSION_FIELDS} == fields_kept.SESSION_PATHS
