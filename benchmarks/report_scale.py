"""The clinic report on a 100,000-patient synthetic registry: time and peak memory, with a floor.

The registry is a synthetic clinic of ``BASE`` patients built by ``bontrack demo``, copied in SQL
until it holds ``PATIENTS`` patients (every record of every table, ids and the ids inside each
record suffixed per copy, record numbers too), so building it takes seconds, not the hour the
demo would need. The copies are identical in their numbers, which changes no cost.

Floor: only reading the same rows the report reads (the JSON text of every patient, session,
outcome and adverse-event version, with plain sqlite3). Aim: the report within 3x the floor at
100,000 patients, and within 60 s at 1,000,000; 4 GB either way (the report process's VmHWM).

Run alone: ``python benchmarks/report_scale.py [PATIENTS] [KEEP.db] [--reuse]``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track

BASE = 1_000
PATIENTS = 100_000
TABLES_READ = ("patient_versions", "injection_session_versions", "outcome_versions", "adverse_event_versions")
ID_KEYS = ("patient_id", "episode_id", "session_id", "plan_id", "assessment_id", "screening_id")

console = Console()


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], check=True, capture_output=True, text=True
    )


def record_tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("select name from sqlite_master where type='table' and name like '%_versions'")
    return [r[0] for r in rows]


def replicate(path: Path, copies: int) -> None:
    """Append ``copies`` copies of every record, with ids suffixed ``~k`` (inside ``data`` too)."""
    con = sqlite3.connect(path)
    con.execute("pragma journal_mode=off")
    con.execute("pragma synchronous=off")
    tables = record_tables(con)
    for table in tables:  # the originals, kept aside so each copy reads only them
        con.execute(f"create temp table base_{table} as select * from {table}")
    for k in track(range(1, copies + 1), description=f"copying the clinic {copies} times", console=console):
        suffix = f"~{k}"
        for table in tables:
            cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
            select = []
            for c in cols:
                if c == "id" or (c.endswith("_id") and c != "clinic_id"):
                    select.append(f"{c} || '{suffix}'")
                elif c == "data":
                    expr = "data"
                    for key in ID_KEYS:
                        expr = f"json_replace({expr}, '$.{key}', json_extract(data, '$.{key}') || '{suffix}')"
                    if table == "patient_versions":
                        expr = (
                            f"json_replace({expr}, '$.record_number', "
                            f"json_extract(data, '$.record_number') || '{suffix}')"
                        )
                    select.append(expr)
                else:
                    select.append(c)
            con.execute(
                f"insert into {table} ({', '.join(cols)}) select {', '.join(select)} from base_{table}"
            )
        con.commit()
    con.close()


def floor_read(path: Path) -> float:
    start = time.perf_counter()
    con = sqlite3.connect(path)
    n = 0
    for table in TABLES_READ:
        n += len(con.execute(f"select id, version, data from {table}").fetchall())
    con.close()
    return time.perf_counter() - start


def run_report(url: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB: the child's own VmHWM, from /proc) of
    `bontrack report` in a fresh process."""
    code = (
        "import re, sys, runpy; sys.argv = ['bontrack', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print('MAXRSS', hwm, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "--db", url, "report", "--out", str(out), "--date", "2026-11-23"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"report failed: {done.stderr[-2000:]}")
    kb = int(next(line.split()[1] for line in done.stderr.splitlines() if line.startswith("MAXRSS")))
    return seconds, kb / 1024 / 1024


def main(patients: int = PATIENTS, keep: Path | None = None, *, reuse: bool = False) -> dict[str, float]:
    """``keep``: build the registry there (and leave it); ``reuse``: a registry already there."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "large.db"
        url = f"sqlite:///{path}"
        if not (reuse and path.exists()):
            path.unlink(missing_ok=True)
            base = min(BASE, patients)
            console.print(f"building a {base}-patient demo clinic, then copying it to {patients:,} patients")
            bontrack("--db", url, "demo", "--patients", str(base), "--seed", "1")
            replicate(path, patients // base - 1)
        size = os.path.getsize(path) / 1e9
        floor = min(floor_read(path) for _ in range(2))
        seconds, gb = run_report(url, Path(tmp) / "report.html")
    load = os.getloadavg()[0]
    aim_s = 60 if patients > PATIENTS else 3 * floor
    console.print(
        f"report on {patients:,} patients ({size:.1f} GB registry): {seconds:.1f} s, peak {gb:.2f} GB; "
        f"floor (reading the same rows) {floor:.1f} s; ratio {seconds / floor:.1f}x; load average "
        f"{load:.1f} on {os.cpu_count()} CPUs. Aim: <= {aim_s:.0f} s and 4 GB: "
        f"{'met' if seconds <= aim_s and gb <= 4 else 'NOT met'}"
    )
    return {"seconds": seconds, "peak_gb": gb, "floor_seconds": floor, "ratio": seconds / floor, "load": load}


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else PATIENTS,
        Path(sys.argv[2]) if len(sys.argv) > 2 else None,  # keep the registry there, to profile it
        reuse="--reuse" in sys.argv,  # measure again on the registry kept there
    )
