"""What the registry's commands share: the engine, the actor, dates, and errors turned into exit codes.

SQLAlchemy and Rich load only when a registry command runs, so `bontrack check` never loads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from bontrack.cli.common import EXIT_INVALID, EXIT_STORAGE

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from bontrack.config import Settings

T = TypeVar("T")


def err_console() -> Console:
    """Standard error, for messages and progress."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@contextmanager
def reported() -> Iterator[None]:
    """Turn registry errors into a message and exit code 2 (bad input) or 1 (storage)."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from bontrack.errors import InputError, RegistryError

    err = err_console()
    try:
        yield
    except InputError as exc:
        for e in exc.errors:
            err.print(f"[bold red]error[/] {e.field}: {e.message}", markup=True, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    except RegistryError as exc:
        err.print(f"[bold red]error[/] {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    except OperationalError as exc:
        err.print(f"[bold red]error[/] cannot use the database: {str(exc.orig).strip()}", soft_wrap=True)
        raise typer.Exit(EXIT_STORAGE) from None
    except SQLAlchemyError as exc:
        err.print(f"[bold red]error[/] database error: {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_STORAGE) from None


def run(fn: Callable[[], T]) -> T:
    with reported():
        return fn()


def engine(settings: Settings, *, create: bool = True) -> Engine:
    """The engine for --db / BONTRACK_DATABASE_URL / the default, schema made current if new."""
    from bontrack.storage.engine import make_engine, open_engine

    url = settings.resolved_database_url()
    return open_engine(url) if create else make_engine(url)


def read_engine(settings: Settings, primary: Engine) -> Engine | None:
    """The read replica's engine (--read-db / BONTRACK_READ_DATABASE_URL), or None: read the primary."""
    from bontrack.storage.replica import open_read_engine

    url = settings.read_database_url
    return open_read_engine(url, primary) if url else None


def exit_error(field: str, message: str) -> NoReturn:
    """Stop with 'error FIELD: message' and exit code 2."""
    err_console().print(f"[bold red]error[/] {field}: {message}", soft_wrap=True)
    raise typer.Exit(EXIT_INVALID)


def parse_date(field: str, text: str | None) -> dt.date:
    """A YYYY-MM-DD option (default: today) within the calendar bounds, else invalid input."""
    from bontrack import clock
    from bontrack.dates import Bound, problem
    from bontrack.errors import InputError

    if text is None:
        return clock.today()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError.one(field, f"{text!r} is not a date; allowed: YYYY-MM-DD, e.g. 2026-03-02") from None
    wrong = problem(day, Bound.CALENDAR)
    if wrong is not None:
        raise InputError.one(field, wrong)
    return day
