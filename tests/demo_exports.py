"""A demo clinic built and exported to Parquet through the CLI, as the report tests read it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bontrack.cli import app
from bontrack.injections import fields_kept
from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.scores_kept import rebuild
from bontrack.storage import record_json
from bontrack.storage.engine import make_engine, transaction
from bontrack.storage.record_ids import id_bytes, id_text

runner = CliRunner()


def packed_sql(con: sqlite3.Connection) -> sqlite3.Connection:
    """``con`` with ``bontrack_json(data)`` (a version's JSON text, packed or not) and
    ``bontrack_pack(text)`` (the text as bontrack stores it), for tests that write SQL."""
    record_json.register(con)
    con.create_function("bontrack_pack", 1, record_json.pack, deterministic=True)
    return con


def bontrack(*args: str) -> Any:
    """The CLI, in process; an exception is raised, not caught."""
    return runner.invoke(app, list(args), catch_exceptions=False)


def demo_with_parquet(folder: Path, *, patients: int, seed: int) -> str:
    """A demo clinic in ``folder/clinic.db`` and its Parquet export in ``folder/parquet``; its URL."""
    url = f"sqlite:///{folder / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", str(patients), "--seed", str(seed)).exit_code == 0
    result = bontrack("--db", url, "export", "--format", "parquet", str(folder / "parquet"))
    assert result.exit_code == 0, result.output
    return url


def copy_of_registry(folder: Path, copy: Path) -> Path:
    """A copy of ``folder/clinic.db`` made by SQLite itself (the registry's latest pages may still
    be in its write-ahead log), for a test that changes stored rows."""
    with sqlite3.connect(folder / "clinic.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


def add_copies(registry: Path, table: str, changed: dict[str, str], where: str, *params: Any) -> None:
    """Insert into ``table`` a copy of each of its rows matching ``where``, with the columns in
    ``changed`` set to their SQL expressions (e.g. ``{"version": "version + 1"}``: a correction).
    The expressions may use ``id_text(column)`` (an id column's text: SQLite holds a UUID as its
    16 bytes) and ``stored_id(text)`` (a text as an id column stores it), e.g. a new id
    ``stored_id(id_text(id) || '-again')``. In them and in ``where``, ``data`` is a version's JSON
    text (SQLite holds it packed: bontrack.storage.record_json), and the copy's is packed again."""
    with sqlite3.connect(registry) as con:
        packed_sql(con)
        con.create_function("id_text", 1, id_text, deterministic=True)
        con.create_function("stored_id", 1, id_bytes, deterministic=True)
        columns = [r[1] for r in con.execute(f"pragma table_info({table})")]
        values = ", ".join(
            f"bontrack_pack({changed.get(c, c)})" if c == "data" else changed.get(c, c) for c in columns
        )
        source = ", ".join("bontrack_json(data) as data" if c == "data" else c for c in columns)
        con.execute(
            f"insert into {table} ({', '.join(columns)}) select {values} "
            f"from (select {source}, rowid as rowid from {table}) where {where}",
            params,
        )
    if table == OutcomeRow.__tablename__:  # versions written in SQL, past their upkeep: the
        # derived table of current scores the report reads is derived again from the records
        with transaction(make_engine(f"sqlite:///{registry}")) as db:
            rebuild(db)
    if table == InjectionSessionRow.__tablename__:  # so is the table of current sessions' fields
        with transaction(make_engine(f"sqlite:///{registry}")) as db:
            fields_kept.rebuild(db)
