"""Patient search, the worklist and stop-and-review on both engines, on a synthetic clinic.

The same seed writes the same records (ids and times included) on SQLite and on PostgreSQL, so
every answer, through the services, the API and the pages, must be the same on both. Each engine
is also checked on its own (the ``engine`` fixture), so a SQLite-only machine still runs them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bontrack.auth.models import ROLES
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.patients.schemas import PatientCreate
from bontrack.patients.service import create_patient, page_patients
from bontrack.records import ids_from
from bontrack.scheduling.service import stop_and_review, worklist
from bontrack.storage.engine import open_engine, transaction
from bontrack.storage.times import recorded_by_clock
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from bontrack.web.app import create_app
from bontrack.web.settings import WebSettings
from conftest import Cluster
from web.conftest import Clock, csrf_from, email, password

PATIENTS = 40
SEED = 5
AS_OF = dt.date(2026, 11, 23)  # the demo's as-of date: its worklist has overdue, due and upcoming items
# A name no synthetic patient has; searched in other cases than it is written.
ODD_ID = "0dd00000-0000-4000-8000-000000000001"
ODD_NAME = "Zed O'Brien-Percent 50%_off (synthetic)"
NEEDLES = (
    "sample",
    "SAMPLE",
    "x sAm",  # across the space between given and family name
    "syn-0000",
    "SYN-000017",
    "(synthetic)",
    "o'brien",
    "50%",  # LIKE wildcards are searched for as themselves
    "%",
    "_",
    "0%_o",
    "nobody of that name",
    "  sample  ",
)


@dataclass
class Clinic:
    engine: Engine
    client: TestClient
    clinic_id: str


def _build(engine: Engine) -> Clinic:
    with transaction(engine) as db:
        summary = load(db, actor="test:setup", batches=generate(PATIENTS, seed=SEED))
        # its id and time fixed too, so both engines hold the very same records
        with ids_from(lambda: ODD_ID), recorded_by_clock(lambda: dt.datetime(2026, 11, 1, 8)):
            create_patient(
                db=db,
                actor="test:setup",
                clinic_id=summary.clinic_id,
                data=PatientCreate(
                    record_number="ODD-1", name=ODD_NAME, birth_date=dt.date(1970, 1, 1), sex="male"
                ),
            )
        for role in ROLES:
            clinic = None if role in ("researcher", "admin") else summary.clinic_id
            user = UserCreate(email=email(role), role=role, password=password(role), clinic_id=clinic)
            create_user(db=db, actor="test:setup", data=user, now=dt.datetime(2026, 1, 1))
    assert summary.clinic_id is not None
    clock = Clock(dt.datetime.combine(AS_OF, dt.time(9)))
    client = TestClient(create_app(WebSettings(engine=engine, clock=clock)), follow_redirects=False)
    return Clinic(engine=engine, client=client, clinic_id=summary.clinic_id)


def _bearer(clinic: Clinic, role: str) -> dict[str, str]:
    response = clinic.client.post(
        "/api/auth/token", data={"username": email(role), "password": password(role)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _log_in(clinic: Clinic, role: str) -> None:
    form = clinic.client.get("/login")
    response = clinic.client.post(
        "/login",
        data={
            "email": email(role),
            "password": password(role),
            "csrf_token": csrf_from(form.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text


def _all_pages(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        response = client.get(path, params={"limit": 7, "offset": len(items)}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if len(items) >= body["total"]:
            assert len(items) == body["total"]
            return items


def answers(clinic: Clinic) -> dict[str, Any]:
    """Everything search, the worklist and stop-and-review answer on this registry."""
    out: dict[str, Any] = {}
    with transaction(clinic.engine) as db:
        for needle in NEEDLES:
            total, found = page_patients(
                db=db, actor="test:read", clinic_id=clinic.clinic_id, limit=500, offset=0, search=needle
            )
            assert total == len(found)
            out[f"search {needle!r}"] = [p.data.record_number for p in found]
        for days in (0, 14, 366):
            items = worklist(
                db=db, actor="test:read", today=AS_OF, horizon_days=days, clinic_id=clinic.clinic_id
            )
            out[f"worklist {days}"] = [i.model_dump(mode="json") for i in items]
        out["review"] = [
            r.model_dump(mode="json")
            for r in stop_and_review(db=db, actor="test:read", today=AS_OF, clinic_id=clinic.clinic_id)
        ]
    physician = _bearer(clinic, "physician")
    for days in (0, 30):
        out[f"api worklist {days}"] = _all_pages(
            clinic.client, f"/api/worklist?date={AS_OF}&days={days}", physician
        )
    _log_in(clinic, "physical_therapist")
    for needle in ("sample", "SYN-00001", "50%", "_"):
        response = clinic.client.get("/patients", params={"q": needle})
        assert response.status_code == 200, response.text
        out[f"page search {needle!r}"] = re.findall(
            r'<a href="/patients/([0-9a-f-]+)"[^>]*>SYN', response.text
        )
    response = clinic.client.get("/worklist", params={"days": 30})
    assert response.status_code == 200, response.text
    out["page worklist"] = re.findall(r'href="/patients/([0-9a-f-]+)"', response.text)
    return out


def _check_sensible(found: dict[str, Any]) -> None:
    """What each engine must answer on its own (the cross-engine test compares the rest)."""
    assert len(found["search 'sample'"]) > 0
    assert found["search 'sample'"] == found["search 'SAMPLE'"] == found["search '  sample  '"]
    assert sorted(found["search '(synthetic)'"]) == [
        "ODD-1",
        *(f"SYN-{n:06d}" for n in range(1, PATIENTS + 1)),
    ]
    assert found["search 'SYN-000017'"] == ["SYN-000017"]
    assert found['search "o\'brien"'] == ["ODD-1"]
    for needle in ("50%", "0%_o"):
        assert found[f"search {needle!r}"] == ["ODD-1"]
    assert found["search '%'"] == found["search '_'"] == ["ODD-1"]
    assert found["search 'nobody of that name'"] == []
    assert found["worklist 0"] and found["worklist 366"]
    assert len(found["worklist 0"]) <= len(found["worklist 14"]) <= len(found["worklist 366"])
    statuses = {i["status"] for i in found["worklist 14"]}
    assert "overdue" in statuses, statuses
    assert found["review"], "seed 5 has patients without response in their latest cycles"
    assert len(found["api worklist 30"]) >= len(found["api worklist 0"]) > 0
    assert found["page search 'sample'"] and found["page worklist"]


def test_search_and_worklist_on_each_engine(engine: Engine) -> None:
    _check_sensible(answers(_build(engine)))


@pytest.fixture
def both(pg_cluster: Cluster, tmp_path: Any) -> Iterator[tuple[Engine, Engine]]:
    sqlite = open_engine(f"sqlite:///{tmp_path / 'same.db'}")
    import psycopg

    name = f"bontrack_same_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host=127.0.0.1 port={pg_cluster.port} user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(f"CREATE DATABASE {name}")
    postgres = open_engine(pg_cluster.url(name))
    yield sqlite, postgres
    sqlite.dispose()
    postgres.dispose()


@pytest.mark.postgres
def test_search_and_worklist_answer_the_same_on_sqlite_and_postgresql(both: tuple[Engine, Engine]) -> None:
    sqlite, postgres = (answers(_build(e)) for e in both)
    assert sqlite.keys() == postgres.keys()
    for key in sqlite:
        assert sqlite[key] == postgres[key], key
