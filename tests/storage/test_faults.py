"""Faults: a real `bontrack serve` killed with SIGKILL while 16 clients write, then restarted;
on PostgreSQL the database is also stopped as by a crash (`pg_ctl stop -m immediate`) and
started again.

Every write the server acknowledged (a 2xx received) must be in the registry afterwards, as
sent; no record may be partial (a version without the audit entry written in its transaction,
or the reverse, or content that is not a whole patient). Writes whose answer never came may be
there or not, but whole. Each phase writes a bounded number of records (about 100), so the test
takes seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bontrack.audit.models import AuditEntry
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.storage.engine import make_engine, open_engine, transaction
from conftest import Cluster, _run_as_server_user
from factories import clinic_world

CLIENTS = 16
PER_PHASE = 100  # acknowledged writes between two faults
EMAIL = "physician@fault.example.org"
GUARD = 300.0  # seconds: a guard against hanging, not a timed assertion


def _crash_and_restart_database(cluster: Cluster, meanwhile: Callable[[], None]) -> None:
    """`pg_ctl stop -m immediate` (as a crash: no shutdown checkpoint), ``meanwhile``, start again."""
    pg_ctl, data = str(cluster.bin / "pg_ctl"), str(cluster.folder / "data")
    options = (  # as tests/conftest.py starts it
        f"-p {cluster.port} -k {cluster.folder} -c listen_addresses=127.0.0.1"
        " -c fsync=off -c full_page_writes=off"
    )
    _run_as_server_user([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], cluster.folder)
    try:
        meanwhile()
    finally:
        log = str(cluster.folder / "server.log")
        _run_as_server_user([pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "start"], cluster.folder)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`bontrack serve` in its own process group, so SIGKILL takes every worker with it."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.db_url = db_url
        self.port = _free_port()
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bontrack", "--db", self.db_url, "serve", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + GUARD
        while True:
            assert self.proc.poll() is None, f"the server exited: {self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the server did not start: {self.log.read_text()[-3000:]}"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: the server and its workers
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


@dataclass
class Clients:
    """16 clients, each on its own keep-alive connection, each writing new patients."""

    port: int
    token: str
    acked: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # number: (id, sent)
    unanswered: list[str] = field(default_factory=list)  # sent, no 2xx (error, refused, cut off)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        i = 0
        while not self.stop.is_set():
            i += 1
            sent = {
                "record_number": f"F{n}-{i}",
                "name": f"Fault Client {n}",
                "birth_date": "1971-02-03",
                "sex": "female",
            }
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(
                    "POST",
                    "/api/patients",
                    body=json.dumps(sent),
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                with self.lock:
                    self.unanswered.append(sent["record_number"])
                time.sleep(0.2)  # the server is down: try again soon
                continue
            with self.lock:
                if 200 <= response.status < 300:
                    self.acked[sent["record_number"]] = (json.loads(body)["id"], sent)
                else:
                    self.unanswered.append(sent["record_number"])
            if response.status >= 300:
                time.sleep(0.2)
        if conn is not None:
            conn.close()

    def wait_for_more(self, count: int) -> None:
        """Until ``count`` more writes than now have been acknowledged."""
        target = len(self.acked) + count
        deadline = time.monotonic() + GUARD
        while len(self.acked) < target:
            assert time.monotonic() < deadline, f"clients stalled at {len(self.acked)} acknowledged writes"
            time.sleep(0.01)

    def wait_for_refusals(self, count: int) -> None:
        target = len(self.unanswered) + count
        deadline = time.monotonic() + GUARD
        while len(self.unanswered) < target:
            assert time.monotonic() < deadline, "no write was refused while the database was down"
            time.sleep(0.01)


def _token(port: int, password: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/api/auth/token",
        body=urllib.parse.urlencode({"username": EMAIL, "password": password}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    return str(json.loads(body)["access_token"])


@pytest.fixture
def registry(engine: Engine) -> tuple[str, str]:
    """A clinic and a physician who works there; returns (clinic id, the physician's password)."""
    password = secrets.token_urlsafe(24)
    with transaction(engine) as db:
        world = clinic_world(db)
        data = UserCreate(email=EMAIL, role="physician", password=password, clinic_id=world.clinic_id)
        create_user(db=db, actor="test:setup", data=data, now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    engine.dispose()
    return world.clinic_id, password


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    s = Server(db_url, tmp_path)
    yield s
    s.stop()


def test_kill_9_mid_write__acknowledged_writes_all_there_none_partial(
    db_url: str, registry: tuple[str, str], server: Server, request: pytest.FixtureRequest
) -> None:
    _clinic, password = registry
    server.start()
    clients = Clients(port=server.port, token=_token(server.port, password))
    threads = [threading.Thread(target=clients.run, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        clients.wait_for_more(PER_PHASE)
        server.kill()  # mid-run: 16 requests in flight
        server.start()
        clients.wait_for_more(PER_PHASE)  # the restarted server takes writes again
        if not db_url.startswith("sqlite"):
            cluster: Cluster = request.getfixturevalue("pg_cluster")
            # the database crashes under the writers, who get refusals until it is back
            _crash_and_restart_database(cluster, lambda: clients.wait_for_refusals(CLIENTS))
            clients.wait_for_more(PER_PHASE)  # and the server recovers by itself
    finally:
        clients.stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()

    assert len(clients.unanswered) >= 1  # the kill did cut requests off
    engine = open_engine(db_url)
    try:
        _check_registry(engine, clients)
    finally:
        engine.dispose()
    if db_url.startswith("sqlite"):
        with sqlite3.connect(make_engine(db_url).url.database or "") as con:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _check_registry(engine: Engine, clients: Clients) -> None:
    with transaction(engine) as db:
        rows = db.scalars(select(PatientRow).where(PatientRow.record_number.like("F%"))).all()
        written = {
            (e.record_id, e.version)
            for e in db.scalars(
                select(AuditEntry).where(AuditEntry.record_type == "patient", AuditEntry.action == "create")
            )
        }
    by_number: dict[str, list[PatientRow]] = {}
    for row in rows:
        by_number.setdefault(row.record_number, []).append(row)
    # every acknowledged write is there, as sent, once
    for number, (record_id, sent) in clients.acked.items():
        found = by_number.get(number)
        assert found is not None, f"acknowledged write {number} ({record_id}) is lost"
        assert len(found) == 1 and found[0].id == record_id and found[0].version == 1
        stored = found[0].data
        assert {k: stored[k] for k in sent} == sent
    # nothing partial: whole content, and each version with its audit entry (one transaction)
    for row in rows:
        PatientCreate.model_validate(row.data)
        assert (row.id, row.version) in written, f"{row.record_number}: a version without its audit entry"
        assert row.record_number in clients.acked or row.record_number in clients.unanswered
    ids = {(row.id, row.version) for row in rows}
    with transaction(engine) as db:
        all_ids = {(r[0], r[1]) for r in db.execute(select(PatientRow.id, PatientRow.version))}
    assert written <= all_ids, "an audit entry of a write whose version is missing"
    assert ids <= all_ids
