"""`make bench`: figures as ratios against a floor measured in the same run.

`python benchmarks/run.py [engine] [registry] [report] [web] [pages] [worklist] [planner]` runs the
named parts (default: all; `web` includes `pages`).

1. Decision engine: checks per second over 10,000 generated plans, against the floor of only
   validating the same inputs (parse_check_request). Aim: a decision costs at most 5x validation.
2. Cold start: wall time of `bontrack check PLAN.json` in a fresh process, against the floor of a
   bare `python -c pass`. Aim: under 0.5 s.
3. Registry (benchmarks/registry_figures.py): `bontrack demo --patients 10000` against generating
   only (aim < 60 s) and `bontrack import` against a bare executemany (aim >= 10,000 records/s).
4. The clinic report on a 100,000-patient registry (benchmarks/report_scale.py): wall time and
   peak memory (VmHWM) against the floor of only reading the same rows the same way (the same ADBC
   reader, the same six tables), with the report's phases and CPU seconds; then the report page and
   `/api/report` from a running server on the same registry (benchmarks/report_web.py: no start
   or import), against the floor measured beside them. Aim: within 3x the floor and 4 GB; with
   BONTRACK_BENCH_MILLION=1 also on 1,000,000 patients (aim: 60 s and 4 GB), or
   with BONTRACK_BENCH_MILLION_DB=FILE on a 1,000,000-patient registry already built (read only).
5. Web API under load (benchmarks/web_load.py): p95 latency of the patient chart and of an outcome
   submission, 32 concurrent clients against `bontrack serve` on a 10,000-patient registry, with
   throughput as a ratio of the bare /health endpoint in the same round (saturated, closed loop),
   and the same at a fixed arrival rate of 32 x 1 request/s (paced, open loop), each in 3 rounds;
   on SQLite and on PostgreSQL (benchmarks/web_load_pg.py). Aim: p95 <= 100 ms.
   The pages (benchmarks/web_pages.py): the home page, the chart page and the worklist page at
   32 x 1 request/s with a physician's session cookie. Aim: p95 under 150 ms.
6. The worklist (benchmarks/worklist_bench.py): `worklist`, `stop_and_review` and the home page's
   day (`today_of_clinic`) on the same 10,000-patient registry, against the floor of reading the
   same current rows with plain sqlite3.
   Aim: about 1 s.
7. The dose planner (benchmarks/planner_bench.py): plan-dose per second against `bontrack check`
   (validate + decide) on the same generated plans, in process. Aim: within 3x.
"""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry_figures import DEMO_AIM_S, IMPORT_AIM, PATIENTS, load_note, registry_figures
from rich.console import Console
from rich.progress import track
from rich.table import Table

from bontrack.clinical.decision import decide
from bontrack.clinical.plan import parse_check_request
from bontrack.knowledge import load_knowledge

ROOT = Path(__file__).resolve().parents[1]
N_PLANS = 10_000


def generated_plans(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Plausible plans over every product, with history, medications and trigger points."""
    kb = load_knowledge()
    rng = random.Random(seed)
    base = json.loads((ROOT / "examples" / "01_allow_first_cycle.json").read_text())
    muscles = list(kb.files.muscles)
    drugs = ["ibuprofen", "aspirin", "warfarin", "sertraline", "cyclobenzaprine", "omeprazole"]
    plans = []
    for _ in range(n):
        doc = copy.deepcopy(base)
        pid = rng.choice(list(kb.files.products))
        product = kb.product(pid)
        vial = rng.choice(product.vials)
        doc["plan"].update(
            product=pid, vial_units=vial.units, diluent_ml=max(vial.diluent_ml_min, 0.5), vial_count=2
        )
        per_site = product.typical_cervical_session_units.high / 8
        doc["plan"]["sites"] = [
            {
                "muscle": rng.choice(muscles),
                "side": rng.choice(["left", "right"]),
                "units": round(per_site, 1),
            }
            for _ in range(rng.randint(2, 8))
        ]
        doc["episode"]["trigger_points"] = [
            {"muscle": rng.choice(muscles), "side": rng.choice(["left", "right"])} for _ in range(4)
        ]
        doc["patient"]["medications"] = rng.sample(drugs, rng.randint(0, 3))
        doc["history"] = [
            {
                "date": f"2026-{m:02d}-15",
                "product": pid,
                "total_units": per_site * 4,
                "responded": rng.random() < 0.6,
            }
            for m in sorted(rng.sample(range(1, 11), rng.randint(0, 3)))
        ]
        plans.append(doc)
    return plans


def best_of(runs: int, fn: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def engine_figures(console: Console) -> tuple[float, float]:
    kb = load_knowledge()
    plans = generated_plans(N_PLANS)
    requests = [
        parse_check_request(p, kb) for p in track(plans, description="validating plans", console=console)
    ]

    def validate_only() -> None:
        for p in plans:
            parse_check_request(p, kb)

    def decide_only() -> None:
        for r in requests:
            decide(r, kb)

    floor = best_of(3, validate_only)
    full = best_of(3, decide_only)
    verdicts = [decide(r, kb).decision for r in requests]
    console.print(
        "verdicts in the generated set: "
        + ", ".join(f"{v} {verdicts.count(v)}" for v in ("allow", "warn", "block"))
    )
    return floor, full


def cold_start_figures() -> tuple[float, float]:
    plan = ROOT / "examples" / "02_warn_nsaid.json"
    exe = Path(sys.executable).with_name("bontrack")

    def spawn(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory():
        floor = statistics.median(spawn([sys.executable, "-c", "pass"]) for _ in range(7))
        cold = statistics.median(spawn([str(exe), "check", str(plan)]) for _ in range(7))
    return floor, cold


def main() -> None:
    known = {"engine", "registry", "report", "web", "pages", "worklist", "planner"}
    parts = set(sys.argv[1:]) or known
    unknown = parts - known
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    console = Console()
    table = Table(title="bontrack benchmarks")
    for col in ("figure", "floor", "measured", "ratio", "aim"):
        table.add_column(col)
    if "engine" in parts:
        engine_rows(console, table)
    if "registry" in parts:
        registry_rows(console, table)
    if "planner" in parts:
        planner_rows(table)
    if parts & {"engine", "registry", "planner"}:
        console.print(table)
    if "report" in parts:
        # The clinic report on a 100,000-patient registry (several minutes: builds the registry).
        sys.path.insert(0, str(Path(__file__).parent))
        import report_scale

        report_scale.main(web=True)  # then the report page and API from a running server
        if million := os.environ.get("BONTRACK_BENCH_MILLION_DB"):  # a 1,000,000-patient registry
            report_scale.main(1_000_000, Path(million), read_only=True)  # already built: read, not written
        elif os.environ.get("BONTRACK_BENCH_MILLION"):  # 1,000,000 patients only when asked (~45 GB of disk)
            report_scale.main(1_000_000)
    if "web" in parts:
        web_table(console)
    if parts & {"web", "pages"}:
        pages_table(console)
    if "worklist" in parts:
        worklist_table(console)


def planner_rows(table: Table) -> None:
    from planner_bench import AIM, planner_figures

    f = planner_figures(generated_plans(2_000))
    ratio = f["plan_s"] / f["check_s"]
    table.add_row(
        f"`plan-dose` vs `check`, {f['n']:,.0f} requests ({f['refused']:,.0f} refused with a reason)",
        f"check: {f['n'] / f['check_s']:,.0f}/s",
        f"plan-dose: {f['n'] / f['plan_s']:,.0f}/s",
        f"{ratio:.2f}x",
        f"<= {AIM:g}x " + ("(met)" if ratio <= AIM else "(NOT met)"),
    )


def worklist_table(console: Console) -> None:
    import os

    sys.path.insert(0, str(Path(__file__).parent))
    from worklist_bench import source_registry, worklist_rows

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = worklist_rows(source_registry(console.print))
    table = Table(
        title=f"worklist, one clinic of a 10,000-patient registry (SQLite); best of 3; load average before: "
        f"{load}, after: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    for col in ("figure", "floor", "measured", "ratio", "aim"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def web_table(console: Console) -> None:
    """The same rounds on SQLite and on PostgreSQL (the same registry in a throwaway cluster),
    each with `bontrack serve`'s default workers, in one table."""
    import os

    from web_load import CLIENTS, summary_rows, web_figures
    from web_load import PATIENTS as WEB_PATIENTS

    def load() -> str:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())

    rows: list[tuple[str, ...]] = []
    notes = []
    engines = (("sqlite", "SQLite, default workers"), ("postgresql", "PostgreSQL 15, default workers"))
    for engine, name in engines:
        before = load()
        closed, open_ = web_figures(console.print, engine=engine)
        notes.append(f"{name}: {len(closed)} rounds, load average {before} before, {load()} after")
        rows += [(f"{name}: {row[0]}", *row[1:]) for row in summary_rows(closed, open_)]
    table = Table(
        title=f"web API, {CLIENTS} concurrent clients, {WEB_PATIENTS:,} patients "
        f"(`bontrack serve` defaults); " + "; ".join(notes)
    )
    for col in ("endpoint, load shape", "throughput", "latency (median round)", "ratio", "CPU", "aim"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def pages_table(console: Console) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from web_load import CLIENTS
    from web_load import PATIENTS as WEB_PATIENTS
    from web_pages import load_note, pages_figures, pages_rows

    before = load_note()
    rounds = pages_figures(console.print)
    table = Table(
        title=f"web pages, {CLIENTS} clients x 1 request/s, physician's session cookie, {WEB_PATIENTS:,} "
        f"patients (SQLite); {len(rounds)} rounds; load average before: {before}, after: {load_note()}"
    )
    for col in ("page, load shape", "throughput", "latency (median round)", "CPU", "aim"):
        table.add_column(col)
    for row in pages_rows(rounds):
        table.add_row(*row)
    console.print(table)


PEAK_AIM_MB = 300
BYTES_AIM = 30 * 1024


def registry_rows(console: Console, table: Table) -> None:
    with console.status(f"demo clinic of {PATIENTS:,} patients, its export and import ({load_note()})"):
        f = registry_figures()
    console.print(f"registry figures measured at {load_note()}")
    table.add_row(
        f"`bontrack demo --patients {f.patients:,}` ({f.workers_note})",
        f"generate only: {f.generate_s:.1f} s",
        f"{f.demo_s:.1f} s, {f.records / f.demo_s:,.0f} records/s",
        f"{f.demo_s / f.generate_s:.1f}x",
        f"< {DEMO_AIM_S:.0f} s " + ("(met)" if f.demo_s < DEMO_AIM_S else "(NOT met)"),
    )
    table.add_row(
        f"`bontrack import` of its export ({f.records:,} records, SQLite)",
        f"bare executemany: {f.records / f.floor_s:,.0f} records/s",
        f"{f.records / f.import_s:,.0f} records/s",
        f"{f.import_s / f.floor_s:.1f}x",
        f">= {IMPORT_AIM:,}/s " + ("(met)" if f.records / f.import_s >= IMPORT_AIM else "(NOT met)"),
    )
    table.add_row(
        "`bontrack export` (JSON Lines)",
        "",
        f"{f.export_s:.1f} s, {f.records / f.export_s:,.0f} records/s, peak {f.export_peak_mb:,.0f} MB",
        "",
        "peak < 300 MB " + ("(met)" if f.export_peak_mb < PEAK_AIM_MB else "(NOT met)"),
    )
    table.add_row(
        "`bontrack export --format parquet` (current versions)",
        "",
        f"{f.parquet_s:.1f} s, peak {f.parquet_peak_mb:,.0f} MB",
        "",
        "peak < 300 MB " + ("(met)" if f.parquet_peak_mb < PEAK_AIM_MB else "(NOT met)"),
    )
    table.add_row(
        "`bontrack import` peak memory",
        "",
        f"{f.import_peak_mb:,.0f} MB",
        "",
        "< 300 MB " + ("(met)" if f.import_peak_mb < PEAK_AIM_MB else "(NOT met)"),
    )
    table.add_row(
        "registry bytes per patient (SQLite, demo)",
        f"audit log: {f.audit_bytes_per_patient / 1024:,.1f} KB ({f.audit_bytes_per_entry:,.0f} B an entry)",
        f"{f.bytes_per_patient / 1024:,.1f} KB in all",
        f"audit {f.audit_bytes_per_patient / f.bytes_per_patient:.0%}",
        "< 30 KB " + ("(met)" if f.bytes_per_patient < BYTES_AIM else "(NOT met)"),
    )
    table.add_row(
        "largest tables with their indexes (KB a patient)",
        ", ".join(f"{name} {size / 1024:,.1f}" for name, size in f.largest),
        "",
        "",
        "",
    )


def engine_rows(console: Console, table: Table) -> None:
    floor, full = engine_figures(console)
    py_floor, cold = cold_start_figures()
    ratio = full / floor
    table.add_row(
        f"decision (decide) vs validation, {N_PLANS:,} plans",
        f"validate only: {N_PLANS / floor:,.0f} plans/s",
        f"decide: {N_PLANS / full:,.0f} plans/s",
        f"{ratio:.2f}x",
        "<= 5x " + ("(met)" if ratio <= 5 else "(NOT met)"),
    )
    table.add_row(
        "whole check (validate + decide)",
        "",
        f"{N_PLANS / (floor + full):,.0f} checks/s",
        f"{(floor + full) / floor:.2f}x",
        "",
    )
    table.add_row(
        "cold `bontrack check` (median of 7)",
        f"python -c pass: {py_floor * 1000:.0f} ms",
        f"{cold * 1000:.0f} ms",
        f"{cold / py_floor:.1f}x",
        "< 500 ms " + ("(met)" if cold < 0.5 else "(NOT met)"),
    )


if __name__ == "__main__":
    main()
