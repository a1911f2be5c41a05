"""The README's PostgreSQL serving role, for tests that run as it (not as a superuser): its grants,
two clinics' records and an engine that connects as a fresh such role (fixtures: a test module
imports them), and a count of the report's reads by the PostgreSQL driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from bontrack.storage.engine import transaction
from factories import clinic_world, saved_session


def readme_grants(role: str = "bontrack_app") -> list[str]:
    """The grants the README gives the serving role on PostgreSQL, for ``role``."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("CREATE ROLE bontrack_app", 1)[1].split("```", 1)[0]
    lines = [line.split("--")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    return [line.rstrip(";").replace("bontrack_app", role) for line in lines if line]


@pytest.fixture
def two_clinics(engine: Engine) -> tuple[str, str]:
    """Two clinics, each with a patient and a session written through the services."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    with transaction(engine) as db:
        a = clinic_world(db)
        saved_session(db, a)
        b = clinic_world(db, record_number="P-B")
        saved_session(db, b)
    return a.clinic_id, b.clinic_id


@pytest.fixture
def app_engine(engine: Engine) -> Iterator[Engine]:
    """An engine connecting as a new role with the README's grants (row-level security binds it)."""
    role = f"bontrack_rls_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for statement in readme_grants(role):
            conn.execute(text(statement))
    app = create_engine(engine.url.set(username=role))
    yield app
    app.dispose()


def count_driver_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the report reads by the PostgreSQL driver (``columnar_driver.pg_batches``,
    in the loaders' modules), listed as they are read."""
    from bontrack.reports import columnar, columnar_driver, columnar_scores

    reads: list[str] = []
    real = columnar_driver.pg_batches

    def counted(shared: columnar_driver.SharedSnapshot, sql: str) -> Iterator[Any]:
        reads.append(sql)
        return real(shared, sql)

    monkeypatch.setattr(columnar, "pg_batches", counted)
    monkeypatch.setattr(columnar_scores, "pg_batches", counted)
    return reads
