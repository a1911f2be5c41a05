"""`bontrack report`: the clinic report from the registry, as HTML, PDF or JSON."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from rich.console import Console

from bontrack.dates import Bound, problem
from bontrack.registry_cli import actor, engine, exit_error, run

err = Console(stderr=True, highlight=False)


def report(
    *, out: Path | None, pdf: bool, as_json: bool, date_text: str | None, clinic_id: str | None
) -> None:
    try:
        today = dt.date.fromisoformat(date_text) if date_text else dt.date.today()
    except ValueError:
        exit_error("--date", f"{date_text!r} is not a date; use YYYY-MM-DD")
        return
    wrong = problem(today, Bound.CALENDAR)
    if wrong is not None:
        exit_error("--date", wrong)
    if pdf and as_json:
        exit_error("--pdf", "choose one of --pdf and --json")
    if out is not None and out.is_dir():
        exit_error("--out", f"{out} is a folder; give a file name")
    if out is not None and not out.parent.exists():
        exit_error("--out", f"folder {out.parent} does not exist")
    target = out or Path("report.pdf" if pdf else "report.json" if as_json else "report.html")

    def go() -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from bontrack.db import transaction
        from bontrack.knowledge.loader import load_knowledge
        from bontrack.reports.content import build_report
        from bontrack.reports.data import cohort_frames
        from bontrack.reports.plots import render_figures
        from bontrack.reports.render import render_html, report_json, write_pdf

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("reading the registry", total=None)
            eng = engine()
            with transaction(eng) as db:
                frames = cohort_frames(db=db, actor=actor(), clinic_id=clinic_id)
            progress.update(task, description="computing outcomes, intervals and models")
            content = build_report(frames, load_knowledge(), today=today)
            if as_json:
                target.write_text(report_json(content), encoding="utf-8")
            else:
                progress.update(task, description="drawing figures")
                html = render_html(content, render_figures(content))
                if pdf:
                    progress.update(task, description="laying out the PDF")
                    write_pdf(html, target)
                else:
                    target.write_text(html, encoding="utf-8")
        s = content.summary
        print(
            f"wrote {target}: {s['patients']} patients, {s['sessions']} sessions, "
            f"{len(content.stop_and_review)} due for stop-and-review",
            file=sys.stdout,
        )

    run(go)
