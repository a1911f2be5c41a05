"""The demo clinic loads and round-trips through JSON Lines on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bontrack.exchange.jsonl import export_lines, import_lines
from bontrack.storage.engine import open_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import DemoSummary, load
from tests.conftest import Cluster, _new_pg_database
from tests.synth.conftest import ACTOR

PATIENTS = 40
SEED = 8


def _load_demo(engine: Engine) -> DemoSummary:
    with transaction(engine) as db:
        return load(db, actor=ACTOR, batches=generate(PATIENTS, seed=SEED))


def _export(engine: Engine) -> list[str]:
    with transaction(engine) as db:
        return export_lines(db=db, actor=ACTOR)


def test_demo__export_import_export_gives_identical_lines(engine: Engine, second_engine: Engine) -> None:
    summary = _load_demo(engine)
    lines = _export(engine)
    assert len(lines) == sum(summary.records.values())
    with transaction(second_engine) as db:
        added = import_lines(db=db, actor=ACTOR, lines=lines)
    assert added == len(lines)
    assert _export(second_engine) == lines


@pytest.mark.postgres
def test_demo__same_seed_exports_identically_on_sqlite_and_postgresql(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    sqlite = open_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    postgres = open_engine(_new_pg_database(pg_cluster))
    try:
        _load_demo(sqlite)
        _load_demo(postgres)
        assert _export(sqlite) == _export(postgres)
    finally:
        sqlite.dispose()
        postgres.dispose()
