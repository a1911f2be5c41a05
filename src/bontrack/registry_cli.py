"""What the registry's commands do, kept out of cli.py so `bontrack check` never loads SQLAlchemy."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

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
