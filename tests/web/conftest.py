"""The real app on a real database (SQLite file, or PostgreSQL for the smoke path), no mocks.

Time comes from a clock the test moves forward, so expiry and throttling need no sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bontrack.auth.models import ROLES
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user, use_password_hasher
from bontrack.storage.engine import open_engine, transaction
from bontrack.web.app import create_app
from bontrack.web.settings import WebSettings
from factories import World, clinic_world

START = dt.datetime(2026, 3, 2, 9, 0)


class Clock:
    """A clock that stands still until told to move."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def password(role: str) -> str:
    return f"pw-{role}-correct-horse"


def email(role: str) -> str:
    return f"{role}@clinic.example.org"


@dataclass
class Site:
    """A running app with a clinic, one patient, and one user per role."""

    engine: Engine
    clock: Clock
    world: World
    client: TestClient
    settings: WebSettings
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, role: str) -> dict[str, str]:
        """Authorization header of a bearer token for the role's user (got once, through the API)."""
        if role not in self.tokens:
            response = self.client.post(
                "/api/auth/token", data={"username": email(role), "password": password(role)}
            )
            assert response.status_code == 200, response.text
            self.tokens[role] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def populate(engine: Engine) -> World:
    """A clinic world (one patient) and one user per role; researcher and admin see every clinic."""
    with transaction(engine) as db:
        world = clinic_world(db)
        for role in ROLES:
            clinic = None if role in ("researcher", "admin") else world.clinic_id
            # the physician's account is Dr Reyes, the world's physician (she overrides as herself)
            own = world.clinician_id if role == "physician" else None
            data = UserCreate(
                email=email(role), role=role, password=password(role), clinic_id=clinic, clinician_id=own
            )
            create_user(db=db, actor="test:setup", data=data, now=START)
    return world


def make_site(engine: Engine, world: World, *, secure_cookies: bool = False) -> Site:
    clock = Clock()
    settings = WebSettings(engine=engine, clock=clock, secure_cookies=secure_cookies)
    # Secure cookies come back only over https
    base_url = "https://testserver" if secure_cookies else "http://testserver"
    client = TestClient(create_app(settings), base_url=base_url, follow_redirects=False)
    return Site(engine=engine, clock=clock, world=world, client=client, settings=settings)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with minimal cost: the same code path, a hundredth of the time."""
    use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    use_password_hasher(PasswordHasher())


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> tuple[Path, World]:
    """The populated registry, built once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "site.db"
    eng = open_engine(f"sqlite:///{path}")
    world = populate(eng)
    eng.dispose()
    return path, world


@pytest.fixture
def sqlite_engine(tmp_path: Path, template_db: tuple[Path, World]) -> Iterator[Engine]:
    copy = tmp_path / "web.db"
    shutil.copyfile(template_db[0], copy)
    eng = open_engine(f"sqlite:///{copy}")
    yield eng
    eng.dispose()


@pytest.fixture
def site(sqlite_engine: Engine, template_db: tuple[Path, World]) -> Site:
    return make_site(sqlite_engine, template_db[1])


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def log_in(site: Site, role: str, *, pw: str | None = None, next_path: str = "/") -> int:
    """Log in through the form as a browser would; returns the status of the POST."""
    page = site.client.get("/login")
    response = site.client.post(
        "/login",
        data={
            "email": email(role),
            "password": pw or password(role),
            "csrf_token": csrf_from(page.text),
            "next": next_path,
        },
    )
    return response.status_code
