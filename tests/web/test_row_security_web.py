"""Row-level security through the web app: the real app, served as the README's non-superuser
role on a PostgreSQL registry of two clinics.

A user of clinic A gets only clinic A's patients, charts, worklist and report; and inside that
user's request (the app's own dependencies: log-in, then the clinic limit), a raw ``SELECT *``
of every table with a clinic reads no row of clinic B. A probe route added to the app for the
test runs that query in the request's own transaction, as any route would.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, inspect, text

from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.storage.engine import open_engine, transaction
from bontrack.web.app import create_app
from bontrack.web.deps import CurrentUser, SessionDep
from bontrack.web.settings import WebSettings
from factories import World, clinic_world, saved_session
from pg_roles import count_driver_reads, readme_grants
from web.conftest import START, Clock, csrf_from, email, password, populate

pytestmark = pytest.mark.postgres


@dataclass
class Shared:
    owner: Engine  # the schema's owner (a superuser: row-level security does not apply to it)
    app: Engine  # the serving role
    a: World
    b: World
    client: TestClient
    tables: list[str]
    # (tables with a clinic the statement names, the clinic the transaction was limited to, the SQL)
    statements: list[tuple[set[str], str | None, str]] = field(default_factory=list)


def _clinic_tables(engine: Engine) -> list[str]:
    """Every table and view with a clinic_id (the audit log is read through a view that runs as
    the querying role, security_invoker)."""
    inspector = inspect(engine)
    names = [*inspector.get_table_names(), *inspector.get_view_names()]
    return sorted(t for t in names if any(c["name"] == "clinic_id" for c in inspector.get_columns(t)))


@pytest.fixture
def shared(pg_cluster: object) -> Iterator[Shared]:
    port = pg_cluster.port  # type: ignore[attr-defined]
    name = f"bontrack_rls_web_{uuid.uuid4().hex[:8]}"
    role = f"bontrack_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    owner = open_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}")
    a = populate(owner)  # clinic A, one user per role (researcher and admin: every clinic)
    with transaction(owner) as db:
        saved_session(db, a)
        b = clinic_world(db, record_number="P-B")
        saved_session(db, b)
        create_user(
            db=db,
            actor="test:setup",
            data=UserCreate(
                email="b@clinic.example.org", role="physician", password=password("b"), clinic_id=b.clinic_id
            ),
            now=START,
        )
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for statement in readme_grants(role):
            conn.execute(text(statement))
    app_engine = open_engine(f"postgresql+psycopg://{role}@127.0.0.1:{port}/{name}")
    tables = _clinic_tables(owner)
    app = create_app(WebSettings(engine=app_engine, clock=Clock()))

    @app.get("/test/raw-select")
    def raw_select(principal: CurrentUser, db: SessionDep) -> dict[str, list[str | None]]:
        """Every clinic_id visible in this request's transaction, table by table (no filter)."""
        del principal
        return {
            t: [r["clinic_id"] for r in db.execute(text(f"SELECT * FROM {t}")).mappings()] for t in tables
        }

    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    shared = Shared(owner, app_engine, a, b, client, tables)
    named = re.compile(r"\b(" + "|".join(tables) + r")\b")

    @event.listens_for(app_engine, "after_cursor_execute")
    def limit_of_each(_c: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        touched = set(named.findall(statement))
        if touched:
            row = cursor.connection.execute("SELECT current_setting('bontrack.clinic_id', true)").fetchone()
            shared.statements.append((touched, row[0] or None, statement))

    yield shared
    app_engine.dispose()
    owner.dispose()


def _bearer(client: TestClient, user_email: str, pw: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": user_email, "password": pw})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_row_security_web__the_app_runs_as_a_role_that_row_security_binds(shared: Shared) -> None:
    with shared.app.connect() as conn:
        superuser, bypass = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert not superuser and not bypass


def test_row_security_web__a_raw_select_in_a_clinic_users_request_sees_only_that_clinic(
    shared: Shared,
) -> None:
    a, b = shared.a.clinic_id, shared.b.clinic_id
    physician = _bearer(shared.client, email("physician"), password("physician"))
    response = shared.client.get("/test/raw-select", headers=physician)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert set(seen) == set(shared.tables) and {
        "patient_versions",
        "audit_log",
        "audit_packs",
        "users",
    } <= set(seen)
    of_b = {t: rows.count(b) for t, rows in seen.items() if b in rows}
    assert of_b == {}, f"rows of clinic B seen by a user of clinic A: {of_b}"
    assert a in seen["patient_versions"] and a in seen["injection_session_versions"]
    # The probe can fail: a user of every clinic (the admin) runs unlimited and sees B's rows.
    admin = _bearer(shared.client, email("admin"), password("admin"))
    everything = shared.client.get("/test/raw-select", headers=admin).json()
    assert b in everything["patient_versions"] and b in everything["injection_session_versions"]


def test_row_security_web__a_clinic_user_gets_only_their_clinics_records(shared: Shared) -> None:
    physician = _bearer(shared.client, email("physician"), password("physician"))
    listed = shared.client.get("/api/patients", headers=physician).json()
    assert [p["id"] for p in listed["items"]] == [shared.a.patient_id]
    assert (
        shared.client.get(f"/api/patients/{shared.a.patient_id}/chart", headers=physician).status_code == 200
    )
    assert (
        shared.client.get(f"/api/patients/{shared.b.patient_id}/chart", headers=physician).status_code == 404
    )
    worklist = shared.client.get("/api/worklist?date=2026-03-02&days=365&back=0", headers=physician).json()
    assert worklist["items"] and {i["clinic_id"] for i in worklist["items"]} == {shared.a.clinic_id}
    report = shared.client.get("/api/report", headers=physician).json()
    assert report["summary"]["patients"] == 1 and report["summary"]["sessions"] == 1
    # clinic B's physician sees B's, and the admin both
    other = _bearer(shared.client, "b@clinic.example.org", password("b"))
    assert [p["id"] for p in shared.client.get("/api/patients", headers=other).json()["items"]] == [
        shared.b.patient_id
    ]
    admin_report = shared.client.get(
        "/api/report", headers=_bearer(shared.client, email("admin"), password("admin"))
    )
    assert admin_report.json()["summary"]["patients"] == 2


def test_row_security_web__pages_through_a_browser_session(shared: Shared) -> None:
    """Log-in with the form, then the pages: patients, the chart, the worklist and the report."""
    client = shared.client
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": email("physician"),
            "password": password("physician"),
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    assert client.get("/").status_code == 200
    patients = client.get("/patients")
    assert patients.status_code == 200 and "P-001" in patients.text and "P-B" not in patients.text
    assert client.get(f"/patients/{shared.a.patient_id}").status_code == 200
    assert client.get(f"/patients/{shared.b.patient_id}").status_code == 404
    worklist = client.get("/worklist?days=365&back=0")
    assert worklist.status_code == 200 and "P-001" in worklist.text and "P-B" not in worklist.text
    assert client.get("/report").status_code == 200


def test_row_security_web__every_record_read_of_a_clinic_user_runs_limited(shared: Shared) -> None:
    """Each statement on a table with a clinic, in a clinic user's requests, runs in a
    transaction already limited to the clinic, except the log-in's own look-ups (the user, the
    session, the patient's link) and the inserts of the group-committed audit writer."""
    client = shared.client
    physician = _bearer(client, email("physician"), password("physician"))
    staff = _bearer(client, email("staff"), password("staff"))
    a = shared.a
    issued = client.post(
        "/api/patient-links",
        json={"patient_id": a.patient_id, "episode_id": a.episode_id, "instruments": ["nprs"]},
        headers=staff,
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["url"].rstrip("/").rsplit("/", 1)[1]
    shared.statements.clear()
    for path in (
        f"/api/patients/{a.patient_id}/chart",
        "/api/patients",
        "/api/worklist?date=2026-03-02&days=365&back=0",
        "/api/report",
        f"/fhir/Patient/{a.patient_id}",
        f"/fhir/Patient/{a.patient_id}/$everything",
    ):
        response = client.get(path, headers=physician)
        assert response.status_code == 200, (path, response.text)
    # the bulk export runs in a background thread, in transactions of its own
    kicked = client.get("/fhir/Patient/$export", headers={**physician, "Prefer": "respond-async"})
    assert kicked.status_code == 202, kicked.text
    status_url = kicked.headers["Content-Location"].removeprefix("http://testserver")
    for _ in range(600):
        status = client.get(status_url, headers=physician)
        if status.status_code != 202:
            break
        time.sleep(0.1)
    assert status.status_code == 200, status.text
    assert client.get(f"/api/patient-link/{token}").status_code == 200
    submitted = client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{"instrument": "nprs", "answers": {"1": 4}}]}
    )
    assert submitted.status_code == 201, submitted.text
    # the audit entries of many requests are written together by one writer (group commit,
    # bontrack.web.read_audits), in a transaction of its own, unlimited: it only inserts
    audit_writes = [s for t, c, s in shared.statements if c is None and t & {"audit_packs", "audit_texts"}]
    assert all(s.lstrip().upper().startswith("INSERT") for s in audit_writes), audit_writes
    unlimited = [
        (sorted(t), clinic)
        for t, clinic, _s in shared.statements
        if clinic != a.clinic_id and t - {"users", "audit_log", "audit_packs", "audit_texts", "patient_links"}
    ]
    assert shared.statements and unlimited == []


def test_row_security_web__a_one_clinic_admins_users_pages_run_limited_to_that_clinic(shared: Shared) -> None:
    """An administrator of clinic A manages A's accounts only: the users pages list A's users,
    refuse a user of B or of every clinic (nothing written), cannot reach B's users, and every
    statement of those pages on a table with a clinic runs limited to A, the short transactions
    around the password hashing too, except the log-in's own look-up of the session's user."""
    a, b = shared.a.clinic_id, shared.b.clinic_id
    with transaction(shared.owner) as db:
        admin_a = "admin-a@clinic.example.org"
        data = UserCreate(email=admin_a, role="admin", password=password("admin-a"), clinic_id=a)
        create_user(db=db, actor="test:setup", data=data, now=START)
        b_user = db.execute(text("SELECT id FROM users WHERE email = 'b@clinic.example.org'")).scalar_one()
    client = shared.client
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": admin_a,
            "password": password("admin-a"),
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    shared.statements.clear()
    users = client.get("/users")
    assert users.status_code == 200, users.text
    assert email("physician") in users.text and admin_a in users.text
    assert (
        "b@clinic.example.org" not in users.text and email("admin") not in users.text
    )  # B's; every clinic's
    csrf = csrf_from(users.text)

    def add(new: str, clinic: str) -> int:
        form = {
            "csrf_token": csrf,
            "email": new,
            "role": "staff",
            "clinic_id": clinic,
            "password": password(new),
        }
        return client.post("/users", data=form).status_code

    assert add("new-b@clinic.example.org", b) == 400
    assert add("new-all@clinic.example.org", "") == 400
    assert add("new-a@clinic.example.org", a) == 303
    for action in ("deactivate", "end-sessions"):
        assert client.post(f"/users/{b_user}/{action}", data={"csrf_token": csrf}).status_code == 404
    form = {"csrf_token": csrf, "password": password("b-again")}
    assert client.post(f"/users/{b_user}/password", data=form).status_code == 404
    with shared.owner.connect() as conn:
        accounts = dict(
            conn.execute(text("SELECT email, clinic_id FROM users WHERE email LIKE 'new-%'")).all()
        )
        b_active = conn.execute(text("SELECT active FROM users WHERE id = :id"), {"id": b_user}).scalar_one()
    assert accounts == {"new-a@clinic.example.org": a} and b_active
    # the probe can fail: the page's own transactions (listing, adding) read users limited to A
    on_users = [(c, s) for t, c, s in shared.statements if "users" in t]
    assert any(c == a and "FROM users" in s for c, s in on_users), on_users
    unlimited = [
        (sorted(t), s)
        for t, c, s in shared.statements
        if c != a
        and t - {"audit_log", "audit_packs", "audit_texts"}
        and not (t == {"users"} and "auth_tokens" in s)  # the log-in's look-up of the session's user
    ]
    assert unlimited == [], unlimited


def test_row_security_web__the_report_read_by_the_driver_counts_only_the_users_clinic(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's rows are read by the PostgreSQL driver (reports.columnar_driver: connections of
    its own, in the snapshot of the request's transaction) limited as the user is."""
    reads = count_driver_reads(monkeypatch)
    physician = _bearer(shared.client, email("physician"), password("physician"))
    report = shared.client.get("/api/report", headers=physician).json()
    assert reads  # (not through the request's own connection)
    assert report["summary"]["patients"] == 1 and report["summary"]["sessions"] == 1
    reads.clear()
    admin = shared.client.get(
        "/api/report", headers=_bearer(shared.client, email("admin"), password("admin"))
    )
    assert reads and admin.json()["summary"]["patients"] == 2
