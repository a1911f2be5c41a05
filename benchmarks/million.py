"""A 1,000,000-patient registry built, exported and imported on this machine (issue 18, item 1).

Build: a ``bontrack demo`` clinic of ``BASE`` patients copied in SQL until it holds ``PATIENTS``
patients, as ``report_scale.replicate`` does, with two differences: each copy's ids keep the
shape of a UUID (its first four hexadecimal digits become the copy's number: ``0001...``, so the
registry can be exported and imported again, and SQLite stores them as 16 bytes), and the JSON
edits are made once per base row (a marker), each copy then only replacing the marker, which
builds it about twice as fast. Record numbers take the suffix ``~k`` as in ``report_scale``.

Then ``bontrack export`` (``.jsonl.gz``) and ``bontrack import`` into a new registry, each in its
own process: wall seconds and peak resident memory (VmHWM), records a second, file sizes.

Run alone: ``python benchmarks/million.py build|export|import [PATIENTS] [FOLDER]`` (the README's
1M figures, "A million patients, run to the end": build 701 s and 39.8 GB, the export and the
import each to their end, on a machine shared by other jobs).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bontrack.storage import record_json

BASE = 1_000
PATIENTS = 1_000_000
ID_KEYS = ("patient_id", "episode_id", "session_id", "plan_id", "assessment_id", "screening_id")
ID_MARK = "~#id#~"  # stands for the copy's 4-character id prefix in the base rows' JSON
NUMBER_MARK = "~#no#~"  # stands for the copy's record-number suffix

_PEAK = (
    "import runpy, sys, time\n"
    "sys.argv = ['bontrack', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
    "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
    "hwm = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "print('PEAK', hwm, 'CPU', time.process_time(), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _record_tables(con: sqlite3.Connection) -> list[str]:
    """The record tables, and the derived tables the report reads: the current outcome scores
    (bontrack.outcomes.scores_kept) and sessions' fields (bontrack.injections.fields_kept), their
    ids replaced as the records' are."""
    rows = con.execute(
        "select name from sqlite_master where type='table' "
        "and (name like '%_versions' or name in ('outcome_scores', 'session_fields'))"
    )
    return [r[0] for r in rows]


def _new_id(expr: str) -> str:
    """The id's text with its first four characters replaced by the marker and, at a UUID's length,
    its version digit by 0 (so no copy is any original's id: bontrack's are version 4); ids shorter
    than five characters kept as they are. ``copied_id`` does the same to the id columns."""
    at_length = f"'{ID_MARK}' || substr({expr}, 5, 10) || '0' || substr({expr}, 16)"
    return (
        f"case when length({expr}) = 36 then {at_length} "
        f"when length({expr}) >= 5 then '{ID_MARK}' || substr({expr}, 5) else {expr} end"
    )


def copied_id(value: object, prefix: str) -> object:
    """The copy's id for an id as SQLite stores it (bontrack.storage.record_ids), as ``_new_id``
    makes the JSON's: a UUID's 16 bytes with its first two bytes the copy's number (``prefix``, 4
    hexadecimal digits) and its version digit 0; any other id's text likewise."""
    if isinstance(value, bytes) and len(value) == 16:
        return bytes.fromhex(prefix) + value[2:6] + bytes([value[6] & 0x0F]) + value[7:]
    if isinstance(value, str) and len(value) == 36:
        return f"{prefix}{value[4:14]}0{value[15:]}"
    if isinstance(value, str) and len(value) >= 5:
        return prefix + value[4:]
    return value


def replicate(path: Path, copies: int, log: bool = True) -> None:
    """Append ``copies`` copies of every record version, ids prefixed ``0001``, ``0002``... ."""
    if copies > 999:
        raise SystemExit("at most 999 copies")
    con = sqlite3.connect(path)
    con.create_function("copied_id", 2, copied_id, deterministic=True)
    record_json.register(con)  # bontrack_json(data): the JSON text of a packed version
    con.create_function("bontrack_pack", 1, record_json.pack, deterministic=True)
    con.execute("pragma journal_mode=off")
    con.execute("pragma synchronous=off")
    con.execute("pragma cache_size=-1000000")  # 1 GB: the keys' indexes are inserted at random
    con.execute("pragma temp_store=memory")
    plans = {}
    for table in _record_tables(con):
        cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
        base, copy = [], []
        for c in cols:
            if c == "id" or (c.endswith("_id") and c != "clinic_id"):
                base.append(c)
                copy.append(f"copied_id({c}, ?1)")
            elif c == "data":  # (its JSON text: bontrack.storage.record_json; packed again when copied)
                expr = "bontrack_json(data)"
                for key in ID_KEYS:
                    value = _new_id(f"json_extract(bontrack_json(data), '$.{key}')")
                    expr = f"json_replace({expr}, '$.{key}', {value})"
                if table == "patient_versions":
                    number = "json_extract(bontrack_json(data), '$.record_number')"
                    expr = f"json_replace({expr}, '$.record_number', {number} || '{NUMBER_MARK}')"
                base.append(f"{expr} as data")
                copy.append(f"bontrack_pack(replace(replace(data, '{ID_MARK}', ?1), '{NUMBER_MARK}', ?2))")
            else:
                base.append(c)
                copy.append(c)
        con.execute(f"create temp table base_{table} as select {', '.join(base)} from {table}")
        plans[table] = f"insert into {table} ({', '.join(cols)}) select {', '.join(copy)} from base_{table}"
    start = time.perf_counter()
    for k in range(1, copies + 1):
        for sql in plans.values():
            # (a table without a ``data`` column, the derived one, binds the id marker only)
            con.execute(sql, (f"{k:04x}", f"~{k}") if "?2" in sql else (f"{k:04x}",))
        con.commit()
        if log and k % 50 == 0:
            seconds, size = time.perf_counter() - start, path.stat().st_size / 1e9
            print(f"  {k} copies, {seconds:.0f} s, {size:.1f} GB", flush=True)
    con.close()


def build(path: Path, patients: int = PATIENTS) -> None:
    path.unlink(missing_ok=True)
    start = time.perf_counter()
    base = min(BASE, patients)
    demo_args = ("--patients", str(base), "--seed", "1")
    subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{path}", "demo", *demo_args],
        check=True,
        capture_output=True,
    )
    demo = time.perf_counter() - start
    print(f"demo of {base} patients: {demo:.0f} s", flush=True)
    replicate(path, patients // base - 1)
    seconds = time.perf_counter() - start
    print(
        f"built {patients:,} patients in {seconds:.0f} s ({path.stat().st_size / 1e9:.1f} GB); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )


def run_peak(db: Path, *args: str) -> tuple[float, float, float, str]:
    """`bontrack --db DB ARGS` as a user runs it: wall seconds, peak resident MB (its VmHWM), CPU
    seconds and its output."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, "--db", f"sqlite:///{db}", "--actor", "bench", *args],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak = [line.split() for line in done.stderr.splitlines() if line.startswith("PEAK")]
    if done.returncode != 0 or not peak:  # (stopped, or failed)
        raise SystemExit(f"bontrack {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}")
    words = peak[0]
    return seconds, int(words[1]) / 1024, float(words[3]), done.stdout.strip()


def measure(name: str, db: Path, *args: str) -> None:
    load = os.getloadavg()[0]
    seconds, mb, cpu, out = run_peak(db, *args)
    print(
        f"{name}: {seconds:.0f} s (CPU {cpu:.0f} s), peak {mb:.0f} MB; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; {out}",
        flush=True,
    )


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) > 1 else "build"
    patients = int(sys.argv[2]) if len(sys.argv) > 2 else PATIENTS
    folder = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("/work/big")
    registry, export = folder / "r1m.db", folder / "r1m.jsonl.gz"
    if step == "build":
        build(registry, patients)
    elif step == "export":
        measure("export", registry, "export", str(export))
        print(f"  {export.stat().st_size / 1e9:.2f} GB", flush=True)
    elif step == "import":
        measure("import", folder / "imported.db", "import", str(export))
        print(f"  {(folder / 'imported.db').stat().st_size / 1e9:.2f} GB", flush=True)
