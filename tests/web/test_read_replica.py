"""A read replica for reports and research reads: a second local cluster in streaming replication
(pg_basebackup -R from the primary, started on another port).

After catch-up, the report read from the replica equals the report read from the primary (the
command and the web API); with the replica's replay paused it shows the replica's own (older)
rows, so the rows really come from it, while its read is audited on the primary; a write through
the app lands on the primary.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from bontrack.cli import app as cli
from bontrack.storage.engine import open_engine, transaction
from bontrack.storage.replica import open_read_engine
from bontrack.web.app import create_app
from bontrack.web.settings import WebSettings
from conftest import Cluster, _free_port, _run_as_server_user, own_cluster
from factories import clinic_world, saved_session
from web.conftest import Clock, email, password, populate

pytestmark = pytest.mark.postgres
runner = CliRunner()
DATABASE = "registry"
AS_OF = "2026-03-02"  # the web clock's day (web.conftest.START)


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster
    primary_url: str
    standby_url: str

    def libpq(self, cluster: Cluster) -> str:
        return f"host=127.0.0.1 port={cluster.port} user=postgres dbname={DATABASE}"

    def one(self, cluster: Cluster, sql: str) -> Any:
        with psycopg.connect(self.libpq(cluster), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return row[0]

    def caught_up(self) -> None:
        """Wait until the standby has replayed everything the primary had written when asked."""
        target = self.one(self.primary, "SELECT pg_current_wal_lsn()::text")
        for _ in range(1200):
            behind = self.one(self.standby, f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn())")
            if behind <= 0:
                return
            time.sleep(0.05)
        pytest.fail(f"the standby did not catch up with {target}")


def _standby_of(primary: Cluster) -> Cluster:
    folder = Path(tempfile.mkdtemp(prefix="bontrack-pg-standby-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group=pwd.getpwnam("postgres").pw_gid)
    # (a fast checkpoint: the default spreads it over minutes on an idle server)
    where = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "--no-sync", "-c", "fast"]
    backup = [str(primary.bin / "pg_basebackup"), "-D", str(folder / "data"), "-R", "-X", "stream", *where]
    _run_as_server_user(backup, folder)
    standby = Cluster(port=_free_port(), bin=primary.bin, folder=folder)
    standby.start()
    return standby


def bontrack(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _add_clinic(pair: Pair, record_number: str) -> None:
    """One more clinic with a treated patient, written on the primary."""
    engine = open_engine(pair.primary_url)
    with transaction(engine) as db:
        saved_session(db, clinic_world(db, record_number=record_number))
    engine.dispose()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with own_cluster() as primary:
        with psycopg.connect(
            f"host=127.0.0.1 port={primary.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f"CREATE DATABASE {DATABASE}")
        primary_url = primary.url(DATABASE)
        made = bontrack("--db", primary_url, "demo", "--patients", "15", "--seed", "3")
        assert made.exit_code == 0, made.output
        standby = _standby_of(primary)
        try:
            found = Pair(primary, standby, primary_url, standby.url(DATABASE))
            query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            for _ in range(1200):  # the standby connects to the primary a moment after it starts
                if found.one(primary, query) == 1:
                    break
                time.sleep(0.05)
            assert found.one(primary, query) == 1 and found.one(standby, "SELECT pg_is_in_recovery()") is True
            yield found
        finally:
            standby.stop()
            shutil.rmtree(standby.folder, ignore_errors=True)


def _report_json(tmp_path: Path, name: str, *db: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    done = bontrack(*db, "report", "--json", "--out", str(out), "--date", AS_OF)
    assert done.exit_code == 0, done.output
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _audited_reads(pair: Pair, cluster: Cluster, actor: str) -> int:
    count: int = pair.one(
        cluster, f"SELECT count(*) FROM audit_log WHERE actor = '{actor}' AND action = 'read'"
    )
    return count


def test_read_replica__the_report_from_the_replica_equals_the_primarys_after_catch_up(
    pair: Pair, tmp_path: Path
) -> None:
    _add_clinic(pair, "P-LATER")  # written after the base backup: it reaches the standby by streaming
    pair.caught_up()
    before = _audited_reads(pair, pair.primary, "test:replica-report")
    from_primary = _report_json(tmp_path, "primary", "--db", pair.primary_url)
    from_replica = _report_json(
        tmp_path,
        "replica",
        "--db",
        pair.primary_url,
        "--read-db",
        pair.standby_url,
        "--actor",
        "test:replica-report",
    )
    assert from_replica == from_primary and from_primary["summary"]["patients"] > 0
    # the replica's read is audited on the primary (one entry per record type read)
    assert _audited_reads(pair, pair.primary, "test:replica-report") > before


def test_read_replica__with_replay_paused_the_rows_come_from_the_replica(pair: Pair, tmp_path: Path) -> None:
    pair.caught_up()
    pair.one(pair.standby, "SELECT pg_wal_replay_pause()::text")
    try:
        replica_then = _report_json(tmp_path, "then", "--db", pair.primary_url, "--read-db", pair.standby_url)
        _add_clinic(pair, "P-PAUSED")
        primary_now = _report_json(tmp_path, "now", "--db", pair.primary_url)
        replica_now = _report_json(tmp_path, "still", "--db", pair.primary_url, "--read-db", pair.standby_url)
        assert primary_now["summary"]["patients"] != replica_then["summary"]["patients"]
        assert replica_now == replica_then  # the standby has not replayed the new patients yet
    finally:
        pair.one(pair.standby, "SELECT pg_wal_replay_resume()::text")
    pair.caught_up()
    assert (
        _report_json(tmp_path, "after", "--db", pair.primary_url, "--read-db", pair.standby_url)
        == primary_now
    )


@pytest.fixture
def web(pair: Pair) -> Iterator[tuple[TestClient, TestClient, Engine]]:
    primary = open_engine(pair.primary_url)
    with primary.connect() as conn:
        has_users = conn.execute(
            text("SELECT count(*) FROM users WHERE email LIKE '%@clinic.example.org'")
        ).scalar()
    if not has_users:
        populate(primary)
    pair.caught_up()
    replica = open_read_engine(pair.standby_url, primary)
    with_replica = TestClient(create_app(WebSettings(engine=primary, read_engine=replica, clock=Clock())))
    primary_only = TestClient(create_app(WebSettings(engine=primary, clock=Clock())))
    yield with_replica, primary_only, primary
    replica.dispose()
    primary.dispose()


def _bearer(client: TestClient, role: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": email(role), "password": password(role)})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_read_replica__the_web_report_and_research_reads_and_a_write_through_the_app(
    pair: Pair, web: tuple[TestClient, TestClient, Engine]
) -> None:
    with_replica, primary_only, _primary = web
    admin = _bearer(with_replica, "admin")
    assert (
        with_replica.get("/api/report", headers=admin).json()
        == primary_only.get("/api/report", headers=admin).json()
    )
    researcher = _bearer(with_replica, "researcher")
    pages = [
        c.get("/api/research/patients?limit=500", headers=researcher).json()
        for c in (with_replica, primary_only)
    ]
    assert pages[0] == pages[1] and pages[0]["total"] > 0
    # paused: the web report counts the replica's rows, and its read is audited on the primary
    pair.one(pair.standby, "SELECT pg_wal_replay_pause()::text")
    try:
        staff = _bearer(with_replica, "staff")
        clinic = primary_only.get("/api/patients", headers=staff).json()["items"][0]["clinic_id"]
        reads = _audited_reads(pair, pair.primary, "user:admin@clinic.example.org")
        with_replica.get("/api/report", headers=admin)
        assert _audited_reads(pair, pair.primary, "user:admin@clinic.example.org") > reads
        created = with_replica.post(
            "/api/patients",
            json={"record_number": "R-NEW", "name": "New Patient", "birth_date": "1980-01-01", "sex": "male"},
            headers=staff,
        )
        assert created.status_code == 201, created.text
        assert created.json()["clinic_id"] == clinic
        new_id = created.json()["id"]
        assert pair.one(pair.primary, f"SELECT count(*) FROM patient_versions WHERE id = '{new_id}'") == 1
        assert pair.one(pair.standby, f"SELECT count(*) FROM patient_versions WHERE id = '{new_id}'") == 0
        # the research list read from the replica does not have the new patient yet
        assert (
            with_replica.get("/api/research/patients", headers=researcher).json()["total"]
            == pages[0]["total"]
        )
    finally:
        pair.one(pair.standby, "SELECT pg_wal_replay_resume()::text")
    pair.caught_up()
    assert (
        with_replica.get("/api/research/patients", headers=researcher).json()["total"]
        == pages[0]["total"] + 1
    )


def test_read_replica__a_read_db_that_is_not_a_postgresql_standby_is_refused(
    pair: Pair, tmp_path: Path
) -> None:
    done = bontrack(
        "--db", pair.primary_url, "--read-db", f"sqlite:///{tmp_path / 'x.db'}", "report", "--json"
    )
    assert done.exit_code == 2 and "--read-db" in done.output
    empty = "postgres"  # a database without bontrack's schema
    done = bontrack("--db", pair.primary_url, "--read-db", pair.standby.url(empty), "report", "--json")
    assert done.exit_code != 0 and "read replica" in done.output
