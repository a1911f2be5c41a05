"""Migration 0020 derives the worklist's items again from the records (the rules of knowledge
2026.12.5 changed what is due without any record being written): items left from before are
replaced by what the records now give. Real SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, delete

from bontrack.scheduling import due
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as conn:
        getattr(command, how)(_alembic_config(conn), revision)


def _items(engine: Engine) -> list[tuple[str, str, str]]:
    with transaction(engine) as db:
        return sorted((r["patient_id"], r["item_key"], str(r["due_date"])) for r in due.kept(db, None))


def test_migration_0020__derives_the_items_again_from_the_records(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            load(db, actor="test:setup", batches=generate(12, seed=3))
        derived = _items(engine)
        assert len(derived) > 10
        _migrate(engine, "downgrade", "0019_packed_json")
        with engine.begin() as conn:  # items of older rules: here, none at all
            conn.execute(delete(due.TABLE))
        assert _items(engine) == []
        _migrate(engine, "upgrade", "head")
        assert _items(engine) == derived
    finally:
        engine.dispose()
