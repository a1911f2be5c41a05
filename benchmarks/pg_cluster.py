"""A throwaway PostgreSQL cluster for the benchmarks, made the way the test fixtures make theirs
(tests/conftest.py): initdb into a folder, pg_ctl on a free loopback port; as root, both run as
the `postgres` user. Unlike the tests' clusters it keeps fsync on: a benchmark must pay for
durability as the SQLite rows do.

The 10,000-patient web registry is built once into a cluster kept in artifacts/ (stopped), and
each run starts a copy of it, so a run never changes the cached registry.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The README's serving role (not a superuser, so row-level security applies); password-less on
# this loopback-only, trust-authenticated cluster.
APP_ROLE = "bontrack_app"
DATABASE = "bontrack"


def server_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise RuntimeError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or PATH")
    return Path(on_path).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_server_user(args: list[str], cwd: Path) -> None:
    kwargs: dict[str, Any] = {}
    if os.geteuid() == 0:
        kwargs = {"user": "postgres", "group": pwd.getpwnam("postgres").pw_gid}
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, check=False, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _own_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group=pwd.getpwnam("postgres").pw_gid)
    return folder


@dataclass
class BenchCluster:
    folder: Path  # holds data/ and server.log
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, user: str = "postgres", database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def libpq(self, user: str = "postgres", database: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        log = str(self.folder / "server.log")
        args = ["-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "300", "start"]
        _as_server_user([str(self.bin / "pg_ctl"), *args], self.folder)

    def stop(self) -> None:
        _as_server_user(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], self.folder
        )


def new_cluster(prefix: str = "bontrack-bench-pg-") -> BenchCluster:
    """initdb a new cluster (not started) in a new temporary folder."""
    bin_dir = server_bin()
    folder = _own_folder(prefix)
    _as_server_user(
        [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
        folder,
    )
    return BenchCluster(folder, free_port(), bin_dir)


def copy_of(kept: Path) -> BenchCluster:
    """A running copy of a stopped cluster's data folder ``kept``, on a new port."""
    folder = _own_folder("bontrack-bench-pg-run-")
    subprocess.run(["cp", "-a", str(kept), str(folder / "data")], check=True)
    cluster = BenchCluster(folder, free_port(), server_bin())
    cluster.start()
    return cluster


def discard(cluster: BenchCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.folder, ignore_errors=True)


def create_database(cluster: BenchCluster) -> None:
    import psycopg

    with psycopg.connect(cluster.libpq(database="postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")


def readme_grants() -> list[str]:
    """The grants the README gives the serving role (as tests/pg_roles.py reads them)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split(f"CREATE ROLE {APP_ROLE}", 1)[1].split("```", 1)[0]
    lines = [line.split("--")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    return [line.rstrip(";") for line in lines if line]


def grant_serving_role(cluster: BenchCluster) -> None:
    """The README's serving role with its grants (after the schema exists: they name its tables)."""
    import psycopg

    with psycopg.connect(cluster.libpq(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        for statement in readme_grants():
            conn.execute(statement)
