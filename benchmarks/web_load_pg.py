"""The web benchmark's registry on PostgreSQL: the same 10,000-patient demo (same seed) built in a
throwaway cluster (benchmarks/pg_cluster.py), kept stopped in artifacts/, and served by
`bontrack serve` with its default workers, connected as the README's serving role (not a
superuser, so row-level security applies as in a clinic's deployment).

The registry is the SQLite benchmark registry's rows copied in with COPY (benchmarks/pg_from_sqlite.py:
about a minute; building the demo on PostgreSQL through the services took far longer).
`python benchmarks/web_load_pg.py build` builds the cached cluster alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pg_cluster import (
    APP_ROLE,
    BenchCluster,
    copy_of,
    create_database,
    discard,
    grant_serving_role,
    new_cluster,
)
from pg_from_sqlite import copy_rows, migrate

__all__ = ["discard", "kept_cluster", "running_registry"]

ROOT = Path(__file__).resolve().parents[1]


def _bontrack(url: str, *args: str) -> None:
    exe = str(Path(sys.executable).with_name("bontrack"))
    subprocess.run(
        [exe, "--db", url, "--actor", "bench:setup", *args], capture_output=True, text=True, check=True
    )


def kept_cluster(patients: int, seed: int, console_print: Callable[[str], None]) -> Path:
    """The stopped cluster's data folder holding the demo registry, built once."""
    kept = ROOT / "artifacts" / f"bench-web-pg-{patients}-seed{seed}"
    if kept.exists():
        return kept
    kept.parent.mkdir(exist_ok=True)
    console_print(f"building a {patients:,}-patient synthetic registry on PostgreSQL (once; minutes) ...")
    cluster = new_cluster()
    try:
        cluster.start()
        create_database(cluster)
        from web_load import registry

        source = registry(console_print, patients=patients, seed=seed)
        migrate(cluster.url())
        copy_rows(source, cluster.libpq(), console_print)
        grant_serving_role(cluster)
        cluster.stop()
        building = kept.with_name(kept.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run(["cp", "-a", str(cluster.data), str(building)], check=True)
        building.replace(kept)
    finally:
        subprocess.run(["rm", "-rf", str(cluster.folder)], check=False)
    return kept


def running_registry(
    patients: int, seed: int, console_print: Callable[[str], None]
) -> tuple[BenchCluster, str]:
    """A running copy of the cached cluster and the URL the server connects with (the schema
    brought up to date by its owner if an older bontrack built it, the role's grants renewed)."""
    cluster = copy_of(kept_cluster(patients, seed, console_print))
    _bontrack(cluster.url(), "db", "upgrade")
    grant_serving_role(cluster)
    return cluster, cluster.url(user=APP_ROLE)


if __name__ == "__main__" and sys.argv[1:] == ["build"]:
    from web_load import PATIENTS, SEED

    print(kept_cluster(PATIENTS, SEED, print))
