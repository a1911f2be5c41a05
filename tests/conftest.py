"""Storage fixtures: every storage test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is a throwaway cluster made for this test session: initdb into a temporary folder,
pg_ctl start on a free loopback port, one new database per test, stopped at the end. Without
the server binaries the PostgreSQL cases skip with the reason, except under CI=true, where they
fail: CI must prove both engines.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine

from bontrack.storage.engine import open_engine

# No per-example time limit in any property test: speed belongs in benchmarks, and a busy machine
# (CI, or a shared one) made a 200 ms deadline fail a correct test.
hypothesis_settings.register_profile("bontrack", deadline=None)
hypothesis_settings.load_profile("bontrack")


@dataclass
class Cluster:
    port: int
    bin: Path
    folder: Path

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
        )
        data = str(self.folder / "data")
        log = str(self.folder / "server.log")
        _run_as_server_user(
            [str(self.bin / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start"], self.folder
        )

    def stop(self) -> None:
        """Stop at once (-m immediate: like a crash; running transactions are lost)."""
        data = str(self.folder / "data")
        _run_as_server_user(
            [str(self.bin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], self.folder
        )


def _server_bin() -> Path | None:
    """The newest PostgreSQL server binaries (Debian keeps them out of PATH).

    BONTRACK_PG_BIN names the folder instead (the harness's own tests point it at nothing).
    """
    chosen = os.environ.get("BONTRACK_PG_BIN")
    if chosen is not None:
        return Path(chosen) if (Path(chosen) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as_server_user(args: list[str], folder: Path) -> None:
    """initdb refuses to run as root: as root, run it (and pg_ctl) as the `postgres` user."""
    kwargs: dict[str, Any] = {}
    if os.geteuid() == 0:
        kwargs["user"] = "postgres"
        kwargs["group"] = pwd.getpwnam("postgres").pw_gid
    result = subprocess.run(args, capture_output=True, text=True, cwd=folder, check=False, **kwargs)
    if result.returncode != 0:
        log = folder / "server.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}{tail}")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs PostgreSQL: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with own_cluster() as cluster:
        yield cluster


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A new PostgreSQL cluster, running until the block ends (skips when there is none)."""
    bin_dir = _server_bin()
    if bin_dir is None:
        _unavailable("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or PATH")
        return
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` user to run initdb as")
            return
    folder = Path(tempfile.mkdtemp(prefix="bontrack-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group=pwd.getpwnam("postgres").pw_gid)
    data = folder / "data"
    port = _free_port()
    _run_as_server_user(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        folder,
    )
    cluster = Cluster(port=port, bin=bin_dir, folder=folder)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


_database_numbers = itertools.count(1)


def _new_pg_database(cluster: Cluster) -> str:
    import psycopg

    name = f"bontrack_test_{next(_database_numbers)}"
    with psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a new, empty database on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return _new_pg_database(cluster)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a new database whose schema is current."""
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def second_engine(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """Another new, empty database on the same engine kind as ``engine``."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'second.db'}"
    else:
        url = _new_pg_database(request.getfixturevalue("pg_cluster"))
    eng = open_engine(url)
    yield eng
    eng.dispose()
