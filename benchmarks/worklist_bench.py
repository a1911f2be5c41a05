"""The worklist on a 10,000-patient registry: the service calls, which read the due items kept as
records are written (bontrack.scheduling.due), against a floor of reading the current records the
items derive from with plain sqlite3 (no JSON decoding, no audit), in the same run; and the
derivation of the whole clinic's items from scratch (what `bontrack due --rebuild` and migration
0009 do), against the same floor.

`python benchmarks/run.py worklist`. The registry is web_load's (built once into artifacts/);
BONTRACK_BENCH_DB names another SQLite file instead (it is copied, never changed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.patients.models import PatientRow
from bontrack.scheduling.actions import work_list
from bontrack.scheduling.due import derive_clinic
from bontrack.scheduling.service import stop_and_review, worklist
from bontrack.scheduling.today import today_of_clinic
from bontrack.scheduling.window import Window
from bontrack.storage.engine import open_engine
from bontrack.storage.record_ids import id_bytes

AS_OF = dt.date(2026, 11, 23)  # the demo's as-of date
HORIZON_DAYS = 14  # the page's default
AIM_S = 1.0  # a clinic's daily worklist opens in about a second
WORKLIST_TABLES = ("injection_session", "outcome", "therapy_plan", "therapy_visit")
REVIEW_TABLES = ("injection_session", "outcome")
# the home page (issue 14): the worklist within the window, stop-and-review, the actions taken,
# today's sessions and the self-reports since yesterday
HOME_TABLES = (*WORKLIST_TABLES, "worklist_action")
HOME_ROWS = 25  # the home page's rows a section (bontrack.web.views.home)
PAGE_ROWS = 100  # the worklist page's rows (bontrack.web.views.worklist)


def best_of(n: int, f: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(n):
        start = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - start)
    return min(times), out


def floor_read(path: Path, record_types: tuple[str, ...], clinic_id: str) -> int:
    """Every current version of these record types of the clinic, id and JSON text, by sqlite3."""
    n = 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        for record_type in record_types:
            table = f"{record_type}_versions"
            n += len(
                c.execute(
                    f"SELECT id, data FROM {table} r WHERE clinic_id = ? AND withdrawn = 0 AND NOT EXISTS "
                    f"(SELECT 1 FROM {table} n WHERE n.id = r.id AND n.version > r.version)",
                    (id_bytes(clinic_id),),
                ).fetchall()
            )
    return n


def _home_items(day: Any) -> list[Any]:
    """Every row the home page lists."""
    return [
        *day.due_today,
        *day.overdue,
        *day.this_week,
        *day.worked.reviews,
        *day.sessions,
        *day.self_reports,
    ]


def worklist_rows(source: Path) -> list[tuple[str, str, str, str, str]]:
    """(figure, floor, measured, ratio, aim) for the worklist and stop-and-review."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "worklist.db"
        shutil.copyfile(source, path)
        engine = open_engine(f"sqlite:///{path}")
        with Session(engine) as db:
            clinic = db.scalars(select(PatientRow.clinic_id).limit(1)).one()

        def call(f: Callable[[Session], Any]) -> Callable[[], Any]:
            def run() -> Any:
                with Session(engine) as db:
                    out = f(db)
                    db.flush()  # the audit entries are written, as a request would
                    db.rollback()  # and not kept: every round sees the same registry
                return out

            return run

        rows = []
        for label, tables, f in (
            (
                f"`worklist` ({HORIZON_DAYS} days)",
                WORKLIST_TABLES,
                lambda db: worklist(
                    db=db, actor="bench", today=AS_OF, horizon_days=HORIZON_DAYS, clinic_id=clinic
                ),
            ),
            (
                "`stop_and_review`",
                REVIEW_TABLES,
                lambda db: stop_and_review(db=db, actor="bench", today=AS_OF, clinic_id=clinic),
            ),
            (
                f"home page's day (`today_of_clinic`, default window, {HOME_ROWS} rows a section)",
                HOME_TABLES,
                lambda db: _home_items(
                    today_of_clinic(
                        db=db,
                        actor="bench",
                        today=AS_OF,
                        window=Window(),
                        clinic_id=clinic,
                        role="physician",
                        rows=HOME_ROWS,
                    )
                ),
            ),
            (
                f"worklist page (`work_list`, default window, first {PAGE_ROWS} rows)",
                HOME_TABLES,
                lambda db: (
                    work_list(
                        db=db,
                        actor="bench",
                        today=AS_OF,
                        window=Window(),
                        clinic_id=clinic,
                        limit=PAGE_ROWS,
                        review_limit=PAGE_ROWS,
                    ).items
                ),
            ),
            (
                "the clinic's due items derived from scratch (`due --rebuild`, migration 0011)",
                (*HOME_TABLES, "patient"),
                lambda db: derive_clinic(db, clinic),
            ),
        ):
            floor_s, n_rows = best_of(3, lambda t=tables: floor_read(path, t, clinic))
            took, items = best_of(3, call(f))
            rows.append(
                (
                    f"{label}: {len(items):,} items",
                    f"sqlite3 read of the same {n_rows:,} rows: {floor_s:.2f} s",
                    f"{took:.2f} s",
                    f"{took / floor_s:.1f}x",
                    f"about {AIM_S:.0f} s " + ("(met)" if took <= AIM_S else "(NOT met)"),
                )
            )
        engine.dispose()
    return rows


def source_registry(console_print: Callable[[str], None]) -> Path:
    chosen = os.environ.get("BONTRACK_BENCH_DB")
    if chosen:
        return Path(chosen)
    from web_load import registry

    return registry(console_print)
