"""Engine set-up, settings precedence and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, inspect, text

from bontrack.config import DEFAULT_DATABASE_URL, Settings
from bontrack.errors import InputError, SchemaError
from bontrack.storage.engine import (
    SCHEMA_HEAD,
    _at_head,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    open_engine,
)


def test_settings__db_option_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONTRACK_DATABASE_URL", "sqlite:///env.db")
    assert Settings(database_url="sqlite:///cli.db").resolved_database_url() == "sqlite:///cli.db"
    assert Settings().resolved_database_url() == "sqlite:///env.db"


def test_settings__default_is_sqlite_file_in_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BONTRACK_DATABASE_URL", raising=False)
    assert Settings().resolved_database_url() == DEFAULT_DATABASE_URL == "sqlite:///bontrack.db"


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "not a url", "sqlite://", "sqlite:///:memory:"],
    ids=["mysql", "garbage", "nofile", "memory"],
)
def test_make_engine__unsupported_url_names_db_option(url: str) -> None:
    with pytest.raises(InputError) as info:
        make_engine(url)
    assert info.value.errors[0].field == "--db"
    assert "postgresql+psycopg://" in info.value.errors[0].message


def test_open_engine__new_database_gets_current_schema(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {
        "audit_packs",
        "audit_texts",
        "patient_versions",
        "injection_session_versions",
        "outcome_versions",
    } <= tables
    assert "audit_log" in inspect(engine).get_view_names()  # the log read as one entry per record


def test_ensure_schema__foreign_tables_without_version_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    with create_engine(url).begin() as conn:
        conn.execute(text("CREATE TABLE something (x INTEGER)"))
    with pytest.raises(SchemaError, match="no bontrack schema version"):
        open_engine(url)


def test_ensure_schema__outdated_revision_asks_for_db_upgrade(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaError, match="bontrack db upgrade"):
        ensure_schema(engine)


def test_migrations__match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import bontrack.kinds  # noqa: F401  (registers every table)
    from bontrack.storage.base import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_schema_head__is_the_newest_migration_alembic_finds() -> None:
    # a new migration must name itself in SCHEMA_HEAD, or every command would take a database at
    # the new head for an outdated one
    assert head_revision() == SCHEMA_HEAD


def test_ensure_schema__at_head_without_alembic_and_otherwise_as_alembic_says(engine: Engine) -> None:
    assert _at_head(engine)
    ensure_schema(engine)  # at head: nothing to do
    with engine.begin() as conn:  # two stamped revisions: not recognised, alembic refuses
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0000')"))
    assert not _at_head(engine)
    with pytest.raises(CommandError, match="more than one head"):
        ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0000'"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0015_session_fields'"))
    assert not _at_head(engine)
    with pytest.raises(SchemaError, match="0015_session_fields"):
        ensure_schema(engine)


def test_at_head__a_database_without_the_version_table_is_not_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert not _at_head(create_engine(url))
    assert open_engine(url) is not None  # and a new database is still created at head
    assert _at_head(create_engine(url))
