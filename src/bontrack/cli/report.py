"""`bontrack report`: the clinic report from the registry, as HTML, PDF or JSON."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import typer

from bontrack.cli.common import clinic_name, settings_of
from bontrack.cli.registry import engine, err_console, exit_error, read_engine, run


def report(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None,
        "--out",
        help="File to write (default report.html, report.pdf with --pdf, report.json with --json).",
    ),
    pdf: bool = typer.Option(False, "--pdf", help="Write a PDF (A4) instead of HTML."),
    as_json: bool = typer.Option(False, "--json", help="Write every number of the report as JSON."),
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="Report date (default: today)."
    ),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id (default: every clinic)."),
    from_parquet: Path | None = typer.Option(
        None,
        "--from-parquet",
        metavar="DIR",
        help="Read the records from a Parquet export folder (bontrack export --format parquet) "
        "instead of the registry.",
    ),
) -> None:
    """The clinic report: responders, duration of benefit, trajectories, RAND-36, side effects, evidence."""
    from bontrack import clock
    from bontrack.dates import Bound, problem

    settings = settings_of(ctx)
    try:
        today = dt.date.fromisoformat(date) if date else clock.today()
    except ValueError:
        exit_error("--date", f"{date!r} is not a date; use YYYY-MM-DD")
    wrong = problem(today, Bound.CALENDAR)
    if wrong is not None:
        exit_error("--date", wrong)
    if pdf and as_json:
        exit_error("--pdf", "choose one of --pdf and --json")
    if out is not None and out.is_dir():
        exit_error("--out", f"{out} is a folder; give a file name")
    if out is not None and not out.parent.exists():
        exit_error("--out", f"folder {out.parent} does not exist")
    if from_parquet is not None:
        from bontrack.reports.data import parquet_files

        missing = [name for name in parquet_files() if not (from_parquet / name).is_file()]
        if not from_parquet.is_dir():
            exit_error(
                "--from-parquet", f"{from_parquet} is not a folder; give the folder of a Parquet export"
            )
        if missing:
            exit_error(
                "--from-parquet",
                f"{from_parquet} holds no {', '.join(missing)}; give the folder written by "
                "bontrack export --format parquet",
            )
    target = out or Path("report.pdf" if pdf else "report.json" if as_json else "report.html")

    def go() -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from bontrack.knowledge.loader import load_knowledge
        from bontrack.reports.content import build_report
        from bontrack.reports.data import cohort_frames, parquet_frames
        from bontrack.reports.render import render_html, report_json, write_pdf
        from bontrack.storage.engine import transaction
        from bontrack.storage.replica import read_session

        covers = "" if clinic is None else clinic  # a Parquet export's clinic: its id
        if clinic is not None and from_parquet is None:  # an id of no clinic: exit 2, not an empty report
            with transaction(engine(settings)) as db:
                covers = clinic_name(db, settings.resolved_actor(), clinic)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console(),
            transient=True,
        ) as progress:
            task = progress.add_task("reading the registry", total=None)
            if from_parquet is not None:
                # files an export wrote (and audited), not the registry: nothing to audit here
                frames = parquet_frames(from_parquet, clinic_id=clinic, coded_ids=True, every_score=False)
            else:
                eng = engine(settings)
                # rows from the read replica if one is given; the audit entries on the primary
                with transaction(eng) as db, read_session(read_engine(settings, eng), db, None) as source:
                    # the transaction has written nothing before this read (its audit comes after)
                    frames = cohort_frames(
                        db=source,
                        actor=settings.resolved_actor(),
                        clinic_id=clinic,
                        committed=True,
                        coded_ids=True,  # the ids coded by DuckDB (build_report codes them otherwise)
                        every_score=False,  # the scores read in DuckDB (reports.cycle_rows)
                    )
            progress.update(task, description="computing outcomes, intervals and models")
            try:
                content = replace(build_report(frames, load_knowledge(), today=today), covers=covers)
            finally:  # the read's DuckDB tables (and its temporary folder) let go before the figures
                if frames.cycle_rows is not None:
                    frames.cycle_rows.close()
            if as_json:
                text = report_json(content)
                write_out(target, lambda path: path.write_text(text, encoding="utf-8"))
            else:
                progress.update(task, description="drawing figures")
                from bontrack.reports.plots import render_figures  # matplotlib: not for the JSON

                html = render_html(content, render_figures(content))
                if pdf:
                    progress.update(task, description="laying out the PDF")
                    write_out(target, lambda path: write_pdf(html, path))
                else:
                    write_out(target, lambda path: path.write_text(html, encoding="utf-8"))
        s = content.summary
        print(
            f"wrote {target}: {s['patients']} patients, {s['sessions']} sessions, "
            f"{len(content.stop_and_review)} due for stop-and-review",
            file=sys.stdout,
        )

    run(go)


def write_out(target: Path, write: Callable[[Path], object]) -> None:
    """Write the report as TARGET.partial and give it its name once complete, so a full disk
    leaves no half of a report; a file that cannot be written is an error naming --out (exit 2).
    A device or a link (--out /dev/stdout) is written in place: renaming onto it would replace it.
    """
    from bontrack.errors import InputError

    in_place = target.is_symlink() or (target.exists() and not target.is_file())
    partial = target if in_place else target.with_name(target.name + ".partial")
    try:
        write(partial)
        if not in_place:
            partial.replace(target)
    except OSError as exc:
        if not in_place:
            with suppress(OSError):
                partial.unlink(missing_ok=True)
        raise InputError.one("--out", f"cannot write {target}: {exc.strerror or exc}") from None
