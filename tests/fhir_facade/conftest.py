"""A registry for the FHIR facade: the web tests' clinic (one patient, one user per role) beside a
small synthetic clinic (sessions, scores, adverse events, therapy); the real app, no mocks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from bontrack.auth.service import use_password_hasher
from bontrack.storage.engine import open_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import World
from web.conftest import Site, make_site, populate

SYNTH_PATIENTS = 6
SEED = 11


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    use_password_hasher(PasswordHasher())


@pytest.fixture(scope="session")
def fhir_template(
    tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None
) -> tuple[Path, World]:
    path = tmp_path_factory.mktemp("fhir") / "fhir.db"
    eng = open_engine(f"sqlite:///{path}")
    world = populate(eng)
    with transaction(eng) as db:
        load(db, actor="test:setup", batches=generate(SYNTH_PATIENTS, seed=SEED))
    eng.dispose()
    return path, world


@pytest.fixture
def fhir_engine(tmp_path: Path, fhir_template: tuple[Path, World]) -> Iterator[Engine]:
    copy = tmp_path / "fhir.db"
    shutil.copyfile(fhir_template[0], copy)
    eng = open_engine(f"sqlite:///{copy}")
    yield eng
    eng.dispose()


@pytest.fixture
def fhir_site(fhir_engine: Engine, fhir_template: tuple[Path, World], tmp_path: Path) -> Site:
    site = make_site(fhir_engine, fhir_template[1])
    site.client.app.state.fhir_export_dir = tmp_path / "exports"  # type: ignore[attr-defined]
    return site
