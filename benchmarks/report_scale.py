"""The clinic report on a 100,000-patient synthetic registry: time and peak memory, with a floor.

The registry is a synthetic clinic of ``BASE`` patients built by ``bontrack demo``, copied in SQL
until it holds ``PATIENTS`` patients (every record of every table, ids and the ids inside each
record suffixed per copy, record numbers too), so building it takes seconds, not the hour the
demo would need. The copies are identical in their numbers, which changes no cost.

Floor: only reading the same rows the report reads, the same way: every version of the six
record types it reads (patients, sessions, outcomes, adverse events, stock receipts and discards:
id, version, withdrawn flag, clinic and JSON text), by the same ADBC reader into Arrow batches
(``reports.columnar._adbc_batches``), the batches dropped. (Earlier rows of the README's table
used plain sqlite3 reading four tables' JSON, which is slower than ADBC: the ratio looked better
than it was; it is printed too, as "sqlite3 floor".) Since the report reads the outcomes from the
derived table of their current scores (``outcome_scores``, migration 0014: typed columns, no JSON),
a second floor reads what it now reads: that table's rows the report asks for in place of the
outcomes' versions (the other five types' versions as before); both ratios are printed. The
copies include that table (``DERIVED_COPIED``), so the copied registry is a real one. Aim: the
report within 3x the floor at 100,000 patients, and within 60 s at 1,000,000; 4 GB either way (the
report process's VmHWM).

The report's child process times its phases: reading (``cohort_frames``: the rows, the JSON
fields picked, the current versions, the frames), the analysis (``build_report``), the figures
and the HTML; the rest is starting Python and importing. The read and the analysis grow with
the registry; the figures and the HTML are drawn from the report's numbers (a fixed cost).

Run alone: ``python benchmarks/report_scale.py [PATIENTS] [KEEP.db] [--reuse | --read-only]``
(``--read-only``: KEEP.db is another job's registry, e.g. the 1,000,000-patient one of the
exchange benchmark: it is read, not written, so the read's six audit entries are left out).
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track

from bontrack.storage import record_json
from bontrack.storage.record_ids import is_uuid_text

BASE = 1_000
PATIENTS = 100_000
TABLES_READ = ("patient_versions", "injection_session_versions", "outcome_versions", "adverse_event_versions")
ID_KEYS = ("patient_id", "episode_id", "session_id", "plan_id", "assessment_id", "screening_id")

console = Console()


def _seconds(value: float, name: str) -> str:
    """``name value s``, or that it was not measured (a read-only run skips the sqlite3 floor)."""
    return f"{name} not measured" if math.isnan(value) else f"{name} {value:.1f} s"


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], check=True, capture_output=True, text=True
    )


# derived tables copied with the records (their ids suffixed like the records'): the report reads
# the current outcome scores (bontrack.outcomes.scores_kept) instead of the outcomes' JSON, and
# the current sessions' fields (bontrack.injections.fields_kept) instead of the sessions' JSON
DERIVED_COPIED = ("outcome_scores", "session_fields")


def record_tables(con: sqlite3.Connection) -> list[str]:
    """The record tables, and the derived tables the report reads (``DERIVED_COPIED``)."""
    names = ", ".join(f"'{t}'" for t in DERIVED_COPIED)
    rows = con.execute(
        f"select name from sqlite_master where type='table' and (name like '%_versions' or name in ({names}))"
    )
    return [r[0] for r in rows]


def copied_id(value: object, k: int) -> object:
    """Copy ``k``'s id for an id as SQLite stores it (bontrack.storage.record_ids): a UUID's 16
    bytes with its first two bytes the copy's number and its version digit 0 (no copy is any
    original's id: bontrack's are version 4; still a UUID's bytes), any other id suffixed ``~k``."""
    if isinstance(value, bytes) and len(value) == 16:
        return k.to_bytes(2, "big") + value[2:6] + bytes([value[6] & 0x0F]) + value[7:]
    return copied_text(value, k)  # (a UUID's text in a text column: session_fields.patient_id)


def copied_text(value: object, k: int) -> object:
    """``copied_id`` of the same id as the records' JSON holds it (its text)."""
    if is_uuid_text(value):
        text = str(value)
        return f"{k:04x}{text[4:14]}0{text[15:]}"
    return None if value is None else f"{value}~{k}"


def replicate(path: Path, copies: int) -> None:
    """Append ``copies`` copies of every record, with new ids (``copied_id``; inside ``data`` too)."""
    if copies > 0xFFFF:
        raise SystemExit("at most 65,535 copies (a copy's number is two bytes of its ids)")
    con = sqlite3.connect(path)
    con.create_function("copied_id", 2, copied_id, deterministic=True)
    con.create_function("copied_text", 2, copied_text, deterministic=True)
    record_json.register(con)  # bontrack_json(data): the JSON text of a packed version
    con.create_function("bontrack_pack", 1, record_json.pack, deterministic=True)
    con.execute("pragma journal_mode=off")
    con.execute("pragma synchronous=off")
    tables = record_tables(con)
    for table in tables:  # the originals, kept aside so each copy reads only them (JSON unpacked)
        cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
        kept = ", ".join("bontrack_json(data) as data" if c == "data" else c for c in cols)
        con.execute(f"create temp table base_{table} as select {kept} from {table}")
    for k in track(range(1, copies + 1), description=f"copying the clinic {copies} times", console=console):
        suffix = f"~{k}"
        for table in tables:
            cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
            select = []
            for c in cols:
                if c == "id" or (c.endswith("_id") and c != "clinic_id"):
                    select.append(f"copied_id({c}, {k})")
                elif c == "data":  # (its JSON text in base_: bontrack.storage.record_json; packed again)
                    expr = "data"
                    for key in ID_KEYS:
                        value = f"copied_text(json_extract(data, '$.{key}'), {k})"
                        expr = f"json_replace({expr}, '$.{key}', {value})"
                    if table == "patient_versions":
                        expr = (
                            f"json_replace({expr}, '$.record_number', "
                            f"json_extract(data, '$.record_number') || '{suffix}')"
                        )
                    select.append(f"bontrack_pack({expr})")
                else:
                    select.append(c)
            con.execute(
                f"insert into {table} ({', '.join(cols)}) select {', '.join(select)} from base_{table}"
            )
        con.commit()
    con.close()


def floor_read(path: Path, *, scores_table: bool = False, sessions_table: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds to read the rows the report reads, as it reads them (ADBC into Arrow).
    Without ``scores_table`` (the old floor): every version of the six record types (their JSON).
    With it (the report's rows since the table of current outcome scores): the outcomes' rows of
    that table the report reads (its own query) in place of the outcomes' versions, and (unless
    ``sessions_table`` is False) the sessions' rows of ``session_fields`` in place of their versions."""
    from bontrack.reports.columnar import _adbc_batches
    from bontrack.reports.columnar_scores import _score_sql
    from bontrack.reports.columnar_sessions import _session_sql
    from bontrack.reports.data import PARQUET_ROWS
    from bontrack.reports.stored_ids import data_select, id_select

    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    for row in PARQUET_ROWS:  # the six record types the report reads
        table = row.__table__.name  # type: ignore[attr-defined]
        ids = f"{id_select('id', 'sqlite')}, version, withdrawn, {id_select('clinic_id', 'sqlite')}"
        sql = f"select {ids}, {data_select('sqlite')} from {table}"  # (as columnar.load_current reads them)
        if scores_table and table == "outcome_versions":
            sql = _score_sql("sqlite", None, flagged=True)
        sessions = scores_table and sessions_table and table == "injection_session_versions"
        if sessions and has_table(path, "session_fields"):
            sql = _session_sql("sqlite", None, flagged=True)
        n += sum(batch.num_rows for batch in _adbc_batches(path.resolve(), sql))
    return time.perf_counter() - start, time.process_time() - cpu


def has_table(path: Path, name: str) -> bool:
    con = sqlite3.connect(path)
    try:
        return bool(con.execute("select 1 from sqlite_master where name = ?", (name,)).fetchall())
    finally:
        con.close()


def has_scores_table(path: Path) -> bool:
    return has_table(path, "outcome_scores")


def sqlite3_floor(path: Path) -> float:
    """The floor of the README's earlier rows: four tables' id, version and JSON with plain sqlite3."""
    start = time.perf_counter()
    con = sqlite3.connect(path)
    for table in TABLES_READ:
        len(con.execute(f"select id, version, data from {table}").fetchall())
    con.close()
    return time.perf_counter() - start


# The report's phases, timed in its own process: (module, function, phase name)
PHASES = (
    ("bontrack.reports.data", "cohort_frames", "read"),
    ("bontrack.reports.content", "build_report", "analysis"),
    ("bontrack.reports.plots", "render_figures", "figures"),
    ("bontrack.reports.render", "render_html", "html"),
)


# The report's steps as `bontrack report` takes them, on a registry another job owns, opened
# without writing to it: the rows read as the command reads them (the ADBC reader, ids coded by
# DuckDB, the scores read through cycle_rows: no long frame), but the six audit entries of the read
# not written (the one difference from the command).
READ_ONLY_REPORT = (
    "import datetime\n"
    "import bontrack.reports.data as data\n"
    "data.audit_reads = lambda *a, **k: None  # another job's registry: nothing written to it\n"
    "from sqlalchemy import create_engine\n"
    "from sqlalchemy.orm import Session\n"
    "from bontrack.knowledge.loader import load_knowledge\n"
    "import bontrack.reports.content as content, bontrack.reports.plots as plots\n"
    "import bontrack.reports.render as render\n"
    "path, out = sys.argv[1], sys.argv[2]\n"
    "with Session(create_engine('sqlite:///' + path)) as db:\n"
    "    frames = data.cohort_frames(\n"
    "        db=db, actor='bench', committed=True, coded_ids=True, every_score=False\n"
    "    )\n"
    "report = content.build_report(frames, load_knowledge(), today=datetime.date(2026, 11, 23))\n"
    "open(out, 'w').write(render.render_html(report, plots.render_figures(report)))\n"
    "code = 0\n"
)


# The sessions read as before their derived table (migration 0015): from every version's JSON,
# the table left unread (``--json-sessions``: the same registry measured the old way)
JSON_SESSIONS = "import bontrack.injections.fields_kept as _fk\n_fk.has_table = lambda db: False\n"


def run_report(
    url: str, out: Path, *, read_only: Path | None = None, json_sessions: bool = False
) -> tuple[float, float, float, dict[str, tuple[float, float]]]:
    """Wall seconds, peak resident memory (GB: the child's own VmHWM, from /proc), CPU seconds
    and the (wall, CPU) seconds of each phase (``PHASES``) of `bontrack report` in a fresh process.
    ``read_only``: the registry's file, owned by another job: ``READ_ONLY_REPORT`` instead.
    ``json_sessions``: the sessions read from their versions' JSON (``JSON_SESSIONS``)."""
    run_command = (
        "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
    )
    code = (
        "import re, sys, runpy, time, importlib; sys.argv = ['bontrack', *sys.argv[1:]];\n"
        f"PHASES = {PHASES!r}\n"
        "def timed(module, name, phase):\n"
        "    m = importlib.import_module(module); f = getattr(m, name)\n"
        "    def run(*a, **k):\n"
        "        t, c = time.perf_counter(), time.process_time(); out = f(*a, **k)\n"
        "        print('PHASE', phase, time.perf_counter() - t, time.process_time() - c, file=sys.stderr)\n"
        "        return out\n"
        "    setattr(m, name, run)\n"
        "for spec in PHASES: timed(*spec)\n"
        + (JSON_SESSIONS if json_sessions else "")
        + (READ_ONLY_REPORT if read_only else run_command)
        + "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print('MAXRSS', hwm, file=sys.stderr)\n"
        "print('CPU', time.process_time(), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    args = ["--db", url, "report", "--out", str(out), "--date", "2026-11-23"]
    if read_only:
        code = code.replace("sys.argv = ['bontrack', *sys.argv[1:]];", "")
        args = [str(read_only), str(out)]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"report failed: {done.stderr[-2000:]}")
    lines = [line.split() for line in done.stderr.splitlines()]
    kb = int(next(words[1] for words in lines if words[:1] == ["MAXRSS"]))
    phases = {words[1]: (float(words[2]), float(words[3])) for words in lines if words[:1] == ["PHASE"]}
    cpu = float(next(words[1] for words in lines if words[:1] == ["CPU"]))
    return seconds, kb / 1024 / 1024, cpu, phases


def main(
    patients: int = PATIENTS,
    keep: Path | None = None,
    *,
    reuse: bool = False,
    read_only: bool = False,
    json_sessions: bool = False,
    web: bool = False,
) -> dict[str, float]:
    """``keep``: build the registry there (and leave it); ``reuse``: a registry already there;
    ``read_only``: that registry belongs to another job (nothing is written to it: see ``run_report``);
    ``json_sessions``: the report reads the sessions from their JSON, as before migration 0015;
    ``web``: then the report page and API from a running server too (benchmarks/report_web.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "large.db"
        url = f"sqlite:///{path}"
        if read_only and not path.exists():
            raise SystemExit(f"{path}: no registry there to read")
        if not (reuse and path.exists()) and not read_only:
            path.unlink(missing_ok=True)
            base = min(BASE, patients)
            console.print(f"building a {base}-patient demo clinic, then copying it to {patients:,} patients")
            bontrack("--db", url, "demo", "--patients", str(base), "--seed", "1")
            replicate(path, patients // base - 1)
        size = os.path.getsize(path) / 1e9
        floors = [floor_read(path) for _ in range(2)]
        scored = has_scores_table(path)  # the report reads the outcomes from outcome_scores
        kept = not json_sessions  # the sessions read from session_fields
        new_floors = [floor_read(path, scores_table=True, sessions_table=kept) for _ in range(2 * scored)]
        old_floor = sqlite3_floor(path) if not read_only else float("nan")
        seconds, gb, cpu, phases = run_report(
            url, Path(tmp) / "report.html", read_only=path if read_only else None, json_sessions=json_sessions
        )
        floors.append(floor_read(path))  # once more after the report: the same load on both sides
        if scored:
            new_floors.append(floor_read(path, scores_table=True, sessions_table=kept))
        served: dict[str, float] = {}
        if web and not read_only:  # (before the registry goes with the temporary folder)
            from report_web import main as web_report

            served = {f"web_{k}": v for k, v in web_report(path).items()}
    floor, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    new_floor = min((f[0] for f in new_floors), default=float("nan"))
    new_floor_cpu = min((f[1] for f in new_floors), default=float("nan"))
    load = os.getloadavg()[0]
    aim_s = 60 if patients > PATIENTS else 3 * floor
    (read, read_cpu), (analysis, analysis_cpu) = phases["read"], phases["analysis"]
    drawn = phases["figures"][0] + phases["html"][0]
    drawn_cpu = phases["figures"][1] + phases["html"][1]
    console.print(
        f"report on {patients:,} patients ({size:.1f} GB registry): {seconds:.1f} s, peak {gb:.2f} GB; "
        f"floor (reading the same rows by ADBC) {floor:.1f} s ({_seconds(old_floor, 'sqlite3 floor')}); "
        f"ratio {seconds / floor:.1f}x; load average {load:.1f} on {os.cpu_count()} CPUs. "
        f"Aim: <= {aim_s:.0f} s and 4 GB: {'met' if seconds <= aim_s and gb <= 4 else 'NOT met'}"
    )
    if scored:
        how = (
            "the sessions' versions (--json-sessions)"
            if json_sessions
            else "the sessions from session_fields"
        )
        console.print(
            f"  against the rows the report now reads (the outcomes from outcome_scores, {how}, the other "
            f"types' versions): floor {new_floor:.1f} s / {new_floor_cpu:.1f} s CPU; ratio "
            f"{seconds / new_floor:.1f}x / {cpu / new_floor_cpu:.1f}x CPU (the ratio above is against "
            f"every version of the six types, the old floor)"
        )
    console.print(
        f"  phases (wall): read {read:.1f} s ({read / floor:.1f}x the floor), analysis {analysis:.1f} s, "
        f"read + analysis {read + analysis:.1f} s ({(read + analysis) / floor:.1f}x the floor); "
        f"figures and HTML {drawn:.1f} s (a fixed cost); starting and importing "
        f"{seconds - read - analysis - drawn:.1f} s"
    )
    console.print(
        f"  CPU seconds (less moved by the load): report {cpu:.1f}, floor {floor_cpu:.1f} "
        f"({cpu / floor_cpu:.1f}x); read {read_cpu:.1f} ({read_cpu / floor_cpu:.1f}x), analysis "
        f"{analysis_cpu:.1f}, read + analysis {(read_cpu + analysis_cpu) / floor_cpu:.1f}x; figures "
        f"and HTML {drawn_cpu:.1f}"
    )
    return served | {
        "seconds": seconds,
        "peak_gb": gb,
        "floor_seconds": floor,
        "sqlite3_floor_seconds": old_floor,
        "ratio": seconds / floor,
        "scores_floor_seconds": new_floor,
        "scores_floor_cpu_seconds": new_floor_cpu,
        "read_seconds": read,
        "analysis_seconds": analysis,
        "drawn_seconds": drawn,
        "cpu_seconds": cpu,
        "floor_cpu_seconds": floor_cpu,
        "read_cpu_seconds": read_cpu,
        "analysis_cpu_seconds": analysis_cpu,
        "load": load,
    }


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else PATIENTS,
        Path(sys.argv[2]) if len(sys.argv) > 2 else None,  # keep the registry there, to profile it
        reuse="--reuse" in sys.argv,  # measure again on the registry kept there
        read_only="--read-only" in sys.argv,  # another job's registry: read it, write nothing to it
        json_sessions="--json-sessions" in sys.argv,  # the sessions read from their JSON (as before 0015)
        web="--web" in sys.argv,  # then the report page and API from a running server
    )
