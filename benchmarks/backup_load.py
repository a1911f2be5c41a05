"""Backup under load: `bontrack backup` of a registry while 16 clients write through a real
`bontrack serve`, against the sqlite3 shell's `.backup` (step by step) under the same load, and
the time `bontrack restore` takes to bring the copy back.

    python benchmarks/backup_load.py [PATIENTS] [SHELL_LIMIT_SECONDS]
    BACKUP_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:PORT python benchmarks/backup_load.py

With BACKUP_BENCH_PG (a PostgreSQL server, no database name) the registry is built in a new
database there, the backup is pg_dump's, and the restore goes into another new database.

The registry is a synthetic clinic (`bontrack demo --patients PATIENTS --seed 2`, default 2,000),
built once into benchmarks/artifacts/. Each client posts new patients on its own keep-alive
connection as fast as it is answered. Printed: the registry's size, the wall time of each copy,
the writes acknowledged while it ran, and whether the shell's copy finished within the limit
(default 75 s, the figure of the attack test).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bontrack.storage.engine import make_engine
from bontrack.storage.record_ids import id_text

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).parent / "artifacts"
CLIENTS = 16
EMAIL = "backup-bench@example.org"
PASSWORD = "backup-bench-Xq4v-marble-heron"


def bontrack(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", url, *args],
        capture_output=True,
        text=True,
        check=False,
    )


def registry(patients: int) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"backup-load-{patients}.db"
    if not path.exists():
        building = path.with_name(path.name + ".building")
        building.unlink(missing_ok=True)
        done = bontrack(f"sqlite:///{building}", "demo", "--patients", str(patients), "--seed", "2")
        if done.returncode != 0:
            sys.exit(done.stderr)
        building.replace(path)
    return path


def size_mb(url: str) -> float:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        db = Path(str(engine.url.database))
        wal = db.with_name(db.name + "-wal")
        return (db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6
    with engine.connect() as conn:
        return float(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()) / 1e6


def shell_backup(url: str, target: Path, limit: float, load: Load) -> None:
    """The sqlite3 shell's `.backup` under the same load, stopped after ``limit`` seconds."""
    db = str(make_engine(url).url.database)
    before, start = load.acked, time.perf_counter()
    shell = subprocess.Popen(["sqlite3", db, f".backup {target}"])
    try:
        shell.wait(timeout=limit)
        took = time.perf_counter() - start
        writes = load.acked - before
        print(f"sqlite3 .backup: finished in {took:.1f} s, exit {shell.returncode}, {writes} writes")
    except subprocess.TimeoutExpired:
        shell.kill()
        shell.wait()
        print(f"sqlite3 .backup: not finished after {limit:.0f} s ({load.acked - before} writes); stopped")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Load:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.acked = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self, n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for i in range(10**9):
            if self.stop.is_set():
                return
            body = {
                "record_number": f"BL{n}-{i}-{time.time_ns()}",
                "name": "Load",
                "birth_date": "1970-01-01",
                "sex": "other",
            }
            conn.request(
                "POST",
                "/api/patients",
                body=json.dumps(body),
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            if 200 <= response.status < 300:
                with self.lock:
                    self.acked += 1


def pg_registry(base: str, patients: int) -> tuple[str, str]:
    """A new database holding the demo clinic on the PostgreSQL server at ``base`` (no database
    name), and the URL of another, not yet made, for the restore."""
    import psycopg

    stamp = time.strftime("%H%M%S")
    name = f"backup_bench_{patients}_{stamp}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = f"{base}/{name}"
    done = subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", url, "demo", "--patients", str(patients), "--seed", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    return url, f"{base}/backup_bench_restored_{stamp}"


def main() -> None:
    patients = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 75.0
    pg = os.environ.get("BACKUP_BENCH_PG")  # postgresql+psycopg://USER@HOST:PORT (no database)
    with tempfile.TemporaryDirectory(prefix="bontrack-backup-load-") as folder:
        if pg:
            url, restored_url = pg_registry(pg, patients)
        else:
            db = Path(folder) / "registry.db"
            shutil.copyfile(registry(patients), db)
            url, restored_url = f"sqlite:///{db}", f"sqlite:///{Path(folder) / 'restored.db'}"
        with make_engine(url).connect() as conn:
            clinic = id_text(
                conn.exec_driver_sql(
                    "SELECT id FROM clinic_versions ORDER BY recorded_at LIMIT 1"
                ).scalar_one()
            )
        add = ["user", "add", "--email", EMAIL, "--role", "physician", "--clinic", clinic, "--password-stdin"]
        done = subprocess.run(
            [sys.executable, "-m", "bontrack", "--db", url, *add],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        port = free_port()
        log = (Path(folder) / "server.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "bontrack", "--db", url, "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for _ in range(600):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/health")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request(
                "POST",
                "/api/auth/token",
                body=urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            r = c.getresponse()
            token = json.loads(r.read())["access_token"]
            load = Load(port, token)
            threads = [threading.Thread(target=load.run, args=(n,), daemon=True) for n in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(3)  # the load settles
            print(
                f"registry: {patients:,} patients, {size_mb(url):,.0f} MB; {CLIENTS} clients writing; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            copy = Path(folder) / "copy.backup"
            before, start = load.acked, time.perf_counter()
            done = bontrack(url, "backup", str(copy))
            took, writes = time.perf_counter() - start, load.acked - before
            size = copy.stat().st_size / 1e6 if copy.exists() else 0.0
            print(
                f"bontrack backup: exit {done.returncode}, {took:.1f} s, {size:,.0f} MB, {writes} writes "
                f"acknowledged meanwhile ({writes / took:.0f}/s); {done.stderr.strip()[-300:]}"
            )
            if not pg:
                shell_backup(url, Path(folder) / "shell.db", limit, load)
            load.stop.set()
            for t in threads:
                t.join(timeout=60)
            start = time.perf_counter()
            done = bontrack(restored_url, "restore", str(copy))
            took = time.perf_counter() - start
            print(f"bontrack restore of the copy (no load): exit {done.returncode}, {took:.1f} s")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    main()
