"""Registry figures for `make bench`: the demo clinic and the JSON Lines import, each against a
floor measured in the same run.

3. `bontrack demo --patients N` (N = 10,000 unless BONTRACK_BENCH_PATIENTS says otherwise): wall
   time of the command as a user runs it, against the floor of only generating the same patients
   (pure Python, no registry, one process). Aim: under 60 s for 10,000 patients.
4. `bontrack import` of that clinic's export into an empty SQLite registry: records per second,
   against the floor of a plain executemany of the same rows (already converted, JSON packed)
   into the same tables of an empty registry. Aim: at least 10,000 records/s.
5. Peak resident memory of `bontrack export` (JSON Lines and Parquet) and `bontrack import`
   (aim: under 300 MB whatever the registry's size), and the registry's bytes per patient, all
   of it and its audit log (SQLite's dbstat; aim: under 30 KB a patient in all).

Wall times depend on what else the machine runs: each figure also prints the load average.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bontrack.kinds import BY_NAME
from bontrack.storage.engine import open_engine
from bontrack.storage.record_ids import RecordId, id_bytes
from bontrack.storage.record_json import json_text, pack
from bontrack.synth.generator import generate

PATIENTS = int(os.environ.get("BONTRACK_BENCH_PATIENTS", "10000"))
SEED = 1
DEMO_AIM_S = 60.0
IMPORT_AIM = 10_000


@dataclass(frozen=True)
class Figures:
    patients: int
    demo_s: float
    generate_s: float
    records: int
    export_s: float
    import_s: float
    floor_s: float
    workers_note: str
    export_peak_mb: float = 0.0
    parquet_s: float = 0.0
    parquet_peak_mb: float = 0.0
    import_peak_mb: float = 0.0
    bytes_per_patient: float = 0.0
    audit_bytes_per_patient: float = 0.0
    audit_bytes_per_entry: float = 0.0
    largest: tuple[tuple[str, float], ...] = ()  # (table, bytes a patient with its indexes), largest first


_PEAK = (
    "import runpy, sys\n"
    "sys.argv = ['bontrack', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
    "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
    # VmHWM: this process's own peak (ru_maxrss would also count the parent's pages at fork)
    "hwm = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "print('PEAK', hwm, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _bontrack_peak(db: Path, *args: str) -> tuple[float, float]:
    """Run the command as a user does; its wall time and peak resident memory in MB."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, "--db", f"sqlite:///{db}", "--actor", "bench", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bontrack {' '.join(args)} failed:\n{result.stderr}")
    kb = next(line.split()[1] for line in result.stderr.splitlines() if line.startswith("PEAK"))
    return elapsed, int(kb) / 1024


def _bontrack(db: Path, *args: str) -> float:
    """Run the command as a user does; returns its wall time (it must succeed)."""
    return _bontrack_peak(db, *args)[0]


def _bytes(db: Path) -> tuple[int, int, int]:
    """The registry's bytes in all, those of its audit log (tables and indexes) and its entries
    (one per record read or written, as the view audit_log gives them)."""
    conn = sqlite3.connect(db)
    try:
        total = sum(size for (size,) in conn.execute("select pgsize from dbstat"))
        audit = sum(size for (size,) in conn.execute("select pgsize from dbstat where name like '%audit%'"))
        (entries,) = conn.execute("select count(*) from audit_log").fetchone()
    finally:
        conn.close()
    return total, audit, int(entries)


def bytes_by_table(db: Path) -> dict[str, int]:
    """Each table's bytes with its indexes' (SQLite's dbstat), largest first."""
    conn = sqlite3.connect(db)
    try:
        owner = dict(
            conn.execute("select name, tbl_name from sqlite_master where type in ('table', 'index')")
        )
        sizes: dict[str, int] = defaultdict(int)
        for name, size in conn.execute("select name, sum(pgsize) from dbstat group by name"):
            sizes[owner.get(name, name)] += int(size)
    finally:
        conn.close()
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def _generate_only(patients: int) -> float:
    start = time.perf_counter()
    for _batch in generate(patients, seed=SEED):
        pass
    return time.perf_counter() - start


def _floor_rows(lines: list[str]) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """Per table: the INSERT and the rows as the registry stores them (prepared before timing: the
    ids as 16 bytes, each version's JSON packed)."""
    out: dict[str, tuple[str, list[tuple[Any, ...]]]] = {}
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        record = json.loads(line)
        grouped[record["type"]].append(record)
    for name, records in grouped.items():
        row_cls = BY_NAME[name].row
        table = row_cls.__table__  # type: ignore[attr-defined]
        columns = [c.name for c in table.columns]
        ids = {c.name for c in table.columns if isinstance(c.type, RecordId)}  # (16 bytes on SQLite)
        values = []
        for r in records:
            by_column = {
                "id": r["id"],
                "version": r["version"],
                "clinic_id": r["clinic_id"],
                "withdrawn": int(r["withdrawn"]),
                "recorded_at": r["recorded_at"].replace("T", " "),
                "recorded_by": r["recorded_by"],
                "reason": r["reason"],
                "data": pack(json_text(r["data"])),  # (packed on SQLite: storage.record_json)
            }
            for field in row_cls.index_fields:
                by_column[field] = r["data"].get(field)
            values.append(tuple(id_bytes(by_column[c]) if c in ids else by_column[c] for c in columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        out[table.name] = (sql, values)
    return out


def _bare_insert(db: Path, prepared: dict[str, tuple[str, list[tuple[Any, ...]]]]) -> float:
    open_engine(f"sqlite:///{db}").dispose()  # the same schema, empty
    conn = sqlite3.connect(db)
    try:
        start = time.perf_counter()
        for sql, rows in prepared.values():
            conn.executemany(sql, rows)
        conn.commit()
        return time.perf_counter() - start
    finally:
        conn.close()


def registry_figures(patients: int = PATIENTS) -> Figures:
    from bontrack.synth.parallel import worker_count

    with tempfile.TemporaryDirectory(prefix="bontrack-bench-") as folder:
        tmp = Path(folder)
        demo_db, export_file = tmp / "demo.db", tmp / "demo.jsonl"
        demo_s = _bontrack(demo_db, "demo", "--patients", str(patients), "--seed", str(SEED))
        generate_s = _generate_only(patients)
        total, audit, entries = _bytes(demo_db)
        largest = tuple((name, size / patients) for name, size in list(bytes_by_table(demo_db).items())[:5])
        export_s, export_peak = _bontrack_peak(demo_db, "export", str(export_file))
        parquet_s, parquet_peak = _bontrack_peak(demo_db, "export", "--format", "parquet", str(tmp / "pq"))
        import_s, import_peak = _bontrack_peak(tmp / "imported.db", "import", str(export_file))
        lines = export_file.read_text(encoding="utf-8").splitlines()
        floor_s = _bare_insert(tmp / "floor.db", _floor_rows(lines))
    workers = worker_count(patients)
    note = f"{workers} worker processes" if workers > 1 else "one process"
    return Figures(
        patients,
        demo_s,
        generate_s,
        len(lines),
        export_s,
        import_s,
        floor_s,
        note,
        export_peak_mb=export_peak,
        parquet_s=parquet_s,
        parquet_peak_mb=parquet_peak,
        import_peak_mb=import_peak,
        bytes_per_patient=total / patients,
        audit_bytes_per_patient=audit / patients,
        audit_bytes_per_entry=audit / max(entries, 1),
        largest=largest,
    )


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
