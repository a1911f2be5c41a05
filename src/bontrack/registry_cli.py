"""What the registry's commands do, kept out of cli.py so `bontrack check` never loads SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bontrack.backup import Stages, Summary
from bontrack.config import settings
from bontrack.errors import InputError, RegistryError

T = TypeVar("T")
err = Console(stderr=True, highlight=False)


@contextmanager
def reported() -> Iterator[None]:
    """Turn registry errors into a message and exit code 2 (bad input) or 1 (storage)."""
    try:
        yield
    except InputError as exc:
        for e in exc.errors:
            err.print(f"[bold red]error[/] {e.field}: {e.message}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except RegistryError as exc:
        err.print(f"[bold red]error[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        err.print(f"[bold red]error[/] cannot use the database: {str(exc.orig).strip()}", soft_wrap=True)
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        err.print(f"[bold red]error[/] database error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


def engine(*, create: bool = True) -> Engine:
    """The engine for --db / BONTRACK_DATABASE_URL / the default, schema made current if new."""
    from bontrack.db import make_engine, open_engine

    url = settings.resolved_database_url()
    return open_engine(url) if create else make_engine(url)


def actor() -> str:
    return settings.resolved_actor()


def run(fn: Callable[[], T]) -> T:
    with reported():
        return fn()


def db_upgrade() -> None:
    from bontrack.db import current_revision, upgrade

    def go() -> None:
        eng = engine(create=False)
        before = current_revision(eng)
        after = upgrade(eng)
        url = eng.url.render_as_string(hide_password=True)
        if before == after:
            print(f"{url}: schema already at {after}")
        else:
            print(f"{url}: schema upgraded from {before or '(empty)'} to {after}")

    run(go)


def exit_error(field: str, message: str) -> None:
    err.print(f"[bold red]error[/] {field}: {message}", soft_wrap=True)
    sys.exit(2)


def parse_date(field: str, text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    from bontrack.dates import Bound, problem

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError.one(field, f"{text!r} is not a date; allowed: YYYY-MM-DD, e.g. 2026-03-02") from None
    wrong = problem(day, Bound.CALENDAR)
    if wrong is not None:
        raise InputError.one(field, wrong)
    return day


def due(*, date_text: str | None, days: int, fmt: str, clinic: str | None) -> None:
    from rich.table import Table

    from bontrack.db import transaction
    from bontrack.scheduling.service import worklist

    def go() -> None:
        if fmt not in ("table", "json"):
            raise InputError.one("--format", f"{fmt!r} is not a format; allowed: table, json")
        if days < 0:
            raise InputError.one("--days", f"must be 0 or more, got {days}")
        today = parse_date("--date", date_text)
        with transaction(engine()) as db:
            items = worklist(db=db, actor=actor(), today=today, horizon_days=days, clinic_id=clinic)
        if fmt == "json":
            print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
            return
        table = Table(title=f"Worklist on {today} (next {days} days)", show_lines=False)
        for column in ("status", "due", "kind", "patient", "what"):
            table.add_column(column)
        colours = {"overdue": "bold red", "due": "yellow", "eligible": "green", "upcoming": "dim"}
        for i in items:
            table.add_row(
                f"[{colours[i.status]}]{i.status}[/]", str(i.due_date), i.kind, i.record_number, i.what
            )
        Console().print(table if items else "Nothing due.")

    run(go)


def export(*, target: str, fmt: str) -> None:
    from pathlib import Path

    from bontrack.db import transaction
    from bontrack.exchange.jsonl import export_lines
    from bontrack.exchange.tabular import export_csv

    def go() -> None:
        if fmt not in ("jsonl", "csv"):
            raise InputError.one("--format", f"{fmt!r} is not a format; allowed: jsonl, csv")
        path = Path(target)
        with transaction(engine()) as db:
            if fmt == "csv":
                if path.exists() and not path.is_dir():
                    raise InputError.one("DIR", f"{target} is a file; give a folder for --format csv")
                files = export_csv(db=db, actor=actor(), folder=path)
                print(f"wrote {len(files)} files to {path}/")
                return
            if path.is_dir():
                raise InputError.one("FILE", f"{target} is a folder; give a file name such as registry.jsonl")
            lines = export_lines(db=db, actor=actor(), destination=str(path))
            partial = path.with_name(path.name + ".partial")
            try:
                partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            except OSError as exc:
                raise InputError.one("FILE", f"cannot write {target}: {exc.strerror}") from None
            partial.replace(path)  # the audit entries commit only once the file is complete
        print(f"wrote {len(lines)} record versions to {path}")

    run(go)


def import_(*, source: str) -> None:
    from pathlib import Path

    from bontrack.db import transaction
    from bontrack.exchange.jsonl import import_lines

    def go() -> None:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError.one("FILE", f"cannot read {source}: {reason}") from None
        with transaction(engine()) as db:
            added = import_lines(db=db, actor=actor(), lines=text.splitlines(), source=str(path))
        print(f"imported {added} record versions from {path}" if added else f"nothing new in {path}")

    run(go)


class _RichStages(Stages):
    """Progress of a backup or restore on standard error, drawn only on a terminal."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )

    def start(self, description: str, total: float | None = None) -> Any:
        return self.progress.add_task(description, total=total)

    def update(self, task: Any, *, completed: float | None = None, advance: float | None = None) -> None:
        self.progress.update(task, completed=completed, advance=advance)

    def finish(self, task: Any) -> None:
        self.progress.update(task, visible=False)

    def warn(self, message: str) -> None:
        self.progress.console.print(f"[bold yellow]warning[/] {message}", soft_wrap=True)


def _print_summary(summary: Summary, heading: str) -> None:
    print(heading)
    print(f"  schema {summary.revision}; {summary.size / 1e6:,.1f} MB; {summary.checked}")
    width = max((len(name) for name in summary.tables), default=0)
    for name, rows in summary.tables.items():
        print(f"  {name:<{width}}  {rows:>12,}")
    print(f"  {'(all tables)':<{width}}  {summary.rows:>12,}")
    if not summary.audited:
        err.print(
            "[yellow]note[/] the registry's schema is not this bontrack's: nothing was written to its "
            "audit log; run `bontrack db upgrade` on it before use",
            soft_wrap=True,
        )


def backup(*, target: str, db: str | None, force: bool, pg_bin: str | None) -> None:
    from pathlib import Path

    from bontrack.backup import backup as run_backup

    def go() -> None:
        url = db or settings.resolved_database_url()
        stages = _RichStages()
        with stages.progress:
            summary = run_backup(
                url=url, file=Path(target), actor=actor(), force=force, pg_bin=pg_bin, stages=stages
            )
        _print_summary(summary, f"backed up {summary.url} to {summary.file}, rows as of the copy:")

    run(go)


def restore(*, source: str, db: str | None, force: bool, pg_bin: str | None) -> None:
    from pathlib import Path

    from bontrack.backup import restore as run_restore

    def go() -> None:
        url = db or settings.resolved_database_url()
        stages = _RichStages()
        with stages.progress:
            summary = run_restore(
                url=url, file=Path(source), actor=actor(), force=force, pg_bin=pg_bin, stages=stages
            )
        _print_summary(summary, f"restored {summary.file} into {summary.url}:")

    run(go)
