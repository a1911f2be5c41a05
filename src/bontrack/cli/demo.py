"""`bontrack demo` and `bontrack summary`: build the synthetic clinic, and describe a registry."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import typer

from bontrack.cli.common import counted, settings_of
from bontrack.cli.registry import engine, parse_date, run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bontrack.config import Settings

MAX_PATIENTS = 1_000_000


def _count_patients(db: Session) -> int:
    from sqlalchemy import func, select

    from bontrack.patients.models import PatientRow

    return int(db.scalar(select(func.count(func.distinct(PatientRow.id)))) or 0)


def _count_clinics(db: Session) -> int:
    from sqlalchemy import func, select

    from bontrack.patients.models import ClinicRow

    return int(db.scalar(select(func.count(func.distinct(ClinicRow.id)))) or 0)


def check_options(*, patients: int, seed: int, as_of: str | None = None) -> dt.date | None:
    """Refuse bad options before the registry is opened (so nothing, not even a schema, is written);
    the demo's day (None: the calibrated one)."""
    from bontrack.errors import InputError

    if not 1 <= patients <= MAX_PATIENTS:
        raise InputError.one("--patients", f"must be 1 to {MAX_PATIENTS:,}, got {patients}")
    if seed < 0:
        raise InputError.one("--seed", f"must be 0 or more, got {seed}")
    return demo_day(as_of)


def demo_day(text: str | None) -> dt.date | None:
    """--as-of: ``today`` or a day from the calibrated one (calibration.toml) to today; None when
    not given (the calibrated day: the same seed builds the same clinic)."""
    from bontrack import clock
    from bontrack.dates import not_a_date
    from bontrack.errors import InputError
    from bontrack.synth.calibration import timeline

    if text is None:
        return None
    today, earliest = clock.today(), timeline().as_of
    allowed = f"allowed: today, or YYYY-MM-DD from {earliest} to today ({today})"
    text = text.strip()
    if text.lower() == "today":
        return today
    try:
        day = parse_date("--as-of", text)
    except InputError:
        if not_a_date(text) is not None:
            raise InputError.one("--as-of", f"{text!r} is not a date; {allowed}") from None
        day = dt.date.fromisoformat(text)  # a day outside the calendar's bounds: said below
    if day > today:
        raise InputError.one(
            "--as-of", f"{day} is after today: the demo records only what has happened; {allowed}"
        )
    if day < earliest:
        raise InputError.one(
            "--as-of",
            f"{day} is before {earliest}, the demo's calibrated day: its knowledge base, products and "
            f"the README's figures are of that time; {allowed}",
        )
    return day


def build_demo(
    settings: Settings,
    *,
    patients: int,
    seed: int,
    force: bool,
    as_of: str | None = None,
    quiet: bool = False,
) -> None:
    """Generate and load the clinic as of the day ``as_of`` (--as-of; default the calibrated day)
    in one transaction, with a progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bontrack.errors import InputError
    from bontrack.storage.engine import refresh_statistics, transaction
    from bontrack.synth.calibration import timeline
    from bontrack.synth.generator import generate
    from bontrack.synth.loader import load
    from bontrack.synth.parallel import load_parallel, worker_count

    day = check_options(patients=patients, seed=seed, as_of=as_of)
    console = Console(stderr=True, quiet=quiet)
    actor = settings.resolved_actor()
    eng = engine(settings, new=True)
    start = time.perf_counter()
    with transaction(eng) as db:
        existing = _count_patients(db)
        if existing and not force:
            raise InputError.one(
                "--force",
                f"the registry already holds {existing:,} patients; give --force to add a further "
                "synthetic clinic beside them (nothing is changed or removed), or use another --db",
            )
        batch = _count_clinics(db) if existing or force else 0
        with Progress(
            TextColumn("[bold]building demo clinic"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("patients"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("patients", total=patients)
            workers = worker_count(patients)
            if workers > 1:
                summary = load_parallel(
                    db,
                    actor=actor,
                    patients=patients,
                    seed=seed,
                    batch=batch,
                    workers=workers,
                    progress=lambda n: progress.advance(task, n),
                    as_of=day,
                )
            else:
                summary = load(
                    db,
                    actor=actor,
                    batches=generate(patients, seed=seed, batch=batch, as_of=day),
                    progress=lambda: progress.advance(task),
                    as_of=day,
                )
            # the first batch is the clinic and its staff, not a patient
            progress.update(task, completed=patients)
    refresh_statistics(eng)  # the planner's view of the tables just filled
    seconds = time.perf_counter() - start
    records = sum(summary.records.values())
    console.print(
        f"demo clinic {summary.clinic_id}: {summary.records['patient']:,} patients, "
        f"{records:,} records in {seconds:.1f} s ({records / seconds:,.0f} records/s); "
        f"sessions: {_decisions_in_words(summary.decisions)}; "
        f"{counted(summary.refused, 'blocked plan')} refused (not saved); seed {seed}, "
        f"as of {timeline(day).as_of}"
    )


# each decision's count as the summaries say it (``allow`` is a code, not a word for a person)
DECISION_COUNTED = {
    "allow": "allowed",
    "warn": "with a warning",
    "block": "blocked (saved with a clinician override)",
}


def _decisions_in_words(decisions: Mapping[str, int]) -> str:
    """``171 allowed, 298 with a warning, 1 blocked (saved with a clinician override)``."""
    return ", ".join(f"{decisions.get(code, 0):,} {words}" for code, words in DECISION_COUNTED.items())


def demo(settings: Settings, *, patients: int, seed: int, force: bool, as_of: str | None = None) -> None:
    run(lambda: build_demo(settings, patients=patients, seed=seed, force=force, as_of=as_of))


def print_summary(settings: Settings, *, on: dt.date | None, head: int) -> None:
    """Patients, sessions by decision, overrides, adverse events and the head of the worklist."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import func, select

    from bontrack import clock
    from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
    from bontrack.scheduling.actions import work_list
    from bontrack.scheduling.window import load_window
    from bontrack.storage.engine import transaction

    console = Console()
    today = on or clock.today()  # the day the web pages and `bontrack due` plan for
    with transaction(engine(settings)) as db:
        sessions = db.scalars(select(InjectionSessionRow).where(InjectionSessionRow.version == 1)).all()
        decisions = {"allow": 0, "warn": 0, "block": 0}
        overrides = 0
        for s in sessions:
            decisions[s.data["decision"]["decision"]] += 1
            overrides += s.data.get("override") is not None
        events = db.scalar(select(func.count(func.distinct(AdverseEventRow.id)))) or 0
        patients = _count_patients(db)
        window = load_window()
        worked = work_list(
            db=db, actor=settings.resolved_actor(), today=today, window=window, limit=head, review_limit=0
        )
    table = Table(title="Registry summary", show_header=False)
    table.add_row("patients", f"{patients:,}")
    table.add_row("injection sessions", f"{len(sessions):,}")
    for verdict, n in decisions.items():
        table.add_row(f"  {DECISION_COUNTED[verdict]}", f"{n:,}")
    table.add_row("overrides (with written reason)", f"{overrides:,}")
    table.add_row("adverse events", f"{events:,}")
    console.print(table)
    # the worklist's one window (bontrack.scheduling.window), as on the web pages and `bontrack due`
    recent, older = worked.items, worked.older
    due = Table(
        title=f"Worklist on {today} ({window.words()}): first {min(head, worked.total)} "
        f"of {worked.total:,}; {older:,} older open items counted, not shown"
    )
    for column in ("status", "due", "patient", "what"):  # "what" names the kind of item
        due.add_column(column)
    for i in recent[:head]:
        due.add_row(i.status, str(i.due_date), f"{i.name} ({i.record_number})", i.what)
    console.print(due)


def summary(settings: Settings, *, date_text: str | None, head: int) -> None:
    from bontrack.errors import InputError

    def go() -> None:
        if head < 0:
            raise InputError.one("--head", f"must be 0 or more, got {head}")
        print_summary(settings, on=parse_date("--date", date_text) if date_text else None, head=head)

    run(go)


def run_demo_if_empty(
    settings: Settings, *, patients: int, seed: int, force: bool = False, as_of: str | None = None
) -> None:
    """`make run`: build the demo (as of ``as_of``) when the registry has no patients, then
    summarise it; a registry with patients is left as it is."""
    from bontrack.errors import InputError
    from bontrack.storage.engine import transaction

    def go() -> None:
        if force:
            raise InputError.one("--force", "cannot be combined with --if-empty (which never adds a clinic)")
        check_options(patients=patients, seed=seed, as_of=as_of)
        with transaction(engine(settings, new=True)) as db:
            empty = _count_patients(db) == 0
        if empty:
            build_demo(settings, patients=patients, seed=seed, force=False, as_of=as_of)
        print_summary(settings, on=None, head=15)

    run(go)


def demo_command(
    ctx: typer.Context,
    patients: int = typer.Option(200, "--patients", help="How many synthetic patients (1 to 1,000,000)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed builds the same clinic."),
    force: bool = typer.Option(
        False, "--force", help="Add a further demo clinic to a registry that already has patients."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Build only when the registry has no patients; then print the summary."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="YYYY-MM-DD|today",
        help="The day the clinic is as of: today, or from 2026-11-23 (the calibrated day, the default) to "
        "today. Its 22 months of records end that day, open follow-ups fall due then, its stock is "
        "judged then.",
    ),
) -> None:
    """Build a synthetic clinic (fictional patients) through the services, in one transaction."""
    if if_empty:
        run_demo_if_empty(settings_of(ctx), patients=patients, seed=seed, force=force, as_of=as_of)
    else:
        demo(settings_of(ctx), patients=patients, seed=seed, force=force, as_of=as_of)


def summary_command(
    ctx: typer.Context,
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="Worklist day (default: today)."
    ),
    head: int = typer.Option(15, "--head", help="How many worklist rows to show."),
) -> None:
    """Patients, sessions by decision, overrides, adverse events, and the head of the worklist."""
    summary(settings_of(ctx), date_text=date, head=head)
