"""No response that can hold patient data may be cached (issue 12, D11), and a database outage
gives 503 with Retry-After, /health naming the part that is down, and recovery without a
restart (D13)."""

from __future__ import annotations

import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.routing import Route

from bontrack.storage.engine import make_engine, open_engine
from bontrack.web.outage import is_busy
from conftest import own_cluster
from web.conftest import Site, World, log_in, make_site, populate
from web.test_not_found_and_denied import _records

KINDS = {
    "screening_id": "screenings",
    "assessment_id": "assessments",
    "session_id": "sessions",
    "plan_id": "therapy/plans",
    "outcome_id": "outcomes",
    "episode_id": "episodes",
    "event_id": "adverse-events",
    "visit_id": "therapy/visits",
}


def _get_paths(site: Site) -> list[str]:
    """Every GET route of the app, its path parameters filled with real ids."""
    records = _records(site)
    link = site.client.post(
        "/api/patient-links",
        json={
            "patient_id": site.world.patient_id,
            "episode_id": site.world.episode_id,
            "instruments": ["nprs"],
        },
        headers=site.bearer("staff"),
    )
    assert link.status_code == 201, link.text
    values = {name: records[collection]["id"] for name, collection in KINDS.items()}
    values |= {
        "patient_id": site.world.patient_id,
        "token": link.json()["token"],
        "link_id": link.json()["link"]["id"],  # its revoke page (bontrack.web.views.patient_links)
        "kind": "screening",
        "record_id": records["screenings"]["id"],
        # /fhir (bontrack.fhir): a resource read and an unknown export job's status and file
        "resource_type": "Patient",
        "resource_id": site.world.patient_id,
        "job_id": "0" * 32,
        "name": "Patient.ndjson",
        "lot": "C1234",  # a recall (bontrack.stock): the factory's lot
    }
    paths = []
    for route, prefix in _routes(site.client.app.routes, ""):  # type: ignore[attr-defined]
        if "GET" in (route.methods or ()):
            paths.append(re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], prefix + route.path))
    return paths


def _routes(routes: list[Any], prefix: str) -> Iterator[tuple[APIRoute | Route, str]]:
    """Every route, included routers walked into (FastAPI keeps them as included routers)."""
    for route in routes:
        if isinstance(route, APIRoute | Route):
            yield route, prefix
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)


def test_no_store__on_every_route_page_and_api_and_on_errors(site: Site) -> None:
    paths = _get_paths(site)
    assert log_in(site, "physician") == 303
    bearer = site.bearer("physician")
    checked = set()
    for path in paths:
        response = site.client.get(path, headers=bearer if path.startswith("/api/") else {})
        assert response.headers.get("cache-control") == "no-store", (path, response.status_code)
        checked.add(path)
    assert {"/patients", f"/patients/{site.world.patient_id}", "/worklist", "/audit", "/report"} <= checked
    assert any(p.endswith("/history") for p in checked) and any(p.startswith("/p/") for p in checked)
    assert len(checked) >= 40
    for error in (f"/patients/{uuid.uuid4()}", f"/api/patients/{uuid.uuid4()}", "/no-such-page"):
        response = site.client.get(error, headers=bearer)
        assert response.status_code == 404 and response.headers["cache-control"] == "no-store"
    site.client.cookies.clear()
    assert site.client.get("/api/patients").headers["cache-control"] == "no-store"  # 401


def test_no_store__not_forced_on_static_files(site: Site) -> None:
    response = site.client.get("/static/app.css")
    assert response.status_code in (200, 404)
    assert response.headers.get("cache-control") != "no-store" or response.status_code == 404


# ---- outages --------------------------------------------------------------------------------------


def _site_on_postgresql(url: str) -> tuple[Engine, Site]:
    engine = open_engine(url)
    site = make_site(engine, populate(engine))
    site.client.app.state.database_probe.every_seconds = 0  # type: ignore[attr-defined]
    return engine, site


def test_outage__postgresql_stopped_gives_503_and_started_again_recovers_by_itself() -> None:
    with own_cluster() as cluster:
        with psycopg.connect(
            f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE outage")
        engine, site = _site_on_postgresql(cluster.url("outage"))
        try:
            patient = f"/api/patients/{site.world.patient_id}"
            bearer = site.bearer("physician")
            assert log_in(site, "physician") == 303
            assert site.client.get(patient, headers=bearer).status_code == 200
            assert site.client.get("/health").json() == {"status": "ok", "app": "ok", "database": "ok"}

            cluster.stop()
            for method, path, body in (
                ("GET", patient, None),
                ("POST", "/api/screenings", {"patient_id": site.world.patient_id, "date": "2026-03-02"}),
            ):
                response = site.client.request(method, path, json=body, headers=bearer)
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert int(response.headers["retry-after"]) > 0
                assert response.json()["title"] == "Database unavailable"
            page = site.client.get(f"/patients/{site.world.patient_id}")
            assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
            assert int(page.headers["retry-after"]) > 0 and "Traceback" not in page.text
            health = site.client.get("/health")
            assert health.status_code == 503 and int(health.headers["retry-after"]) > 0
            assert health.json()["app"] == "ok" and health.json()["database"] == "unreachable"

            cluster.start()
            assert site.client.get("/health").json()["database"] == "ok"
            assert site.client.get(patient, headers=bearer).status_code == 200
            assert site.client.get(f"/patients/{site.world.patient_id}").status_code == 200
        finally:
            engine.dispose()


def test_busy__a_write_that_waited_out_its_lock_wait_gives_503_busy_saves_nothing_and_health_stays_ok(
    tmp_path: Path, template_db: tuple[Path, World]
) -> None:
    """Another program holds SQLite's write lock longer than a request waits: the write is
    answered 503 "Registry busy" (nothing saved, Retry-After), the database is not marked down,
    and the same write goes through once the lock is free."""
    copy = tmp_path / "busy.db"
    shutil.copyfile(template_db[0], copy)
    engine = make_engine(f"sqlite:///{copy}", lock_wait_ms=100)
    site = make_site(engine, template_db[1])
    site.client.app.state.database_probe.every_seconds = 0  # type: ignore[attr-defined]
    bearer = site.bearer("physician")
    body = {"patient_id": site.world.patient_id, "date": "2026-03-02"}
    count = "select count(*) from screening_versions"
    with closing(sqlite3.connect(copy, isolation_level=None)) as holder:
        before = holder.execute(count).fetchone()[0]
        holder.execute("BEGIN IMMEDIATE")
        try:
            busy = site.client.post("/api/screenings", json=body, headers=bearer)
            assert busy.status_code == 503, busy.text
            assert busy.json()["title"] == "Registry busy" and "nothing was saved" in busy.json()["detail"]
            assert int(busy.headers["retry-after"]) > 0
            health = site.client.get("/health")
            assert health.status_code == 200 and health.json()["database"] == "ok"
        finally:
            holder.execute("ROLLBACK")
        assert holder.execute(count).fetchone()[0] == before
        again = site.client.post("/api/screenings", json=body, headers=bearer)
        assert again.status_code == 201, again.text
        assert holder.execute(count).fetchone()[0] == before + 1
    engine.dispose()


def test_busy__postgresql_lock_timeout_and_serialization_failures_count_as_busy_not_down() -> None:
    """The kinds of error the server answers as busy, by their SQL state (no cluster needed)."""
    assert is_busy(psycopg.errors.LockNotAvailable("lock timeout"))
    assert is_busy(psycopg.errors.SerializationFailure("could not serialize"))
    assert is_busy(psycopg.errors.DeadlockDetected("deadlock"))
    assert not is_busy(psycopg.errors.AdminShutdown("terminating connection"))
    assert not is_busy(psycopg.OperationalError("connection refused"))
    assert not is_busy(sqlite3.OperationalError("unable to open database file"))
