"""What the registry's commands share: the engine, the actor, dates, and errors turned into exit codes.

SQLAlchemy and Rich load only when a registry command runs, so `bontrack check` never loads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from bontrack.cli.common import EXIT_INVALID, EXIT_STORAGE

if TYPE_CHECKING:
    from pydantic import BaseModel
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
        with _new_registry_removed_on_failure():
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


# A command that creates a registry (``engine(new=True)``) and then fails removes it (see
# ``reported``): the SQLite files it made, so a failed `bontrack import` leaves nothing behind.
_CREATED: list[str] = []

NO_REGISTRY_HINT = (
    "`bontrack db upgrade` creates an empty one, `bontrack demo` a synthetic clinic, "
    "`bontrack import FILE` one from an export"
)


def require_registry(settings: Settings) -> None:
    """Refuse a SQLite registry file that does not exist (a mistyped --db would otherwise be
    created empty, and a report or export of it would look like a clinic with nothing recorded).
    PostgreSQL is left to the server to answer."""
    from pathlib import Path

    from bontrack.errors import InputError
    from bontrack.storage.engine import sqlite_file

    path = sqlite_file(settings.resolved_database_url())
    if path is not None and not Path(path).exists():
        raise InputError.one("--db", f"no registry at {path[:200]}; {NO_REGISTRY_HINT}")


def engine(settings: Settings, *, create: bool = True, new: bool = False) -> Engine:
    """The engine for --db / BONTRACK_DATABASE_URL / the default, schema made current if new
    (``create``). Only a command that makes a registry (``new``: demo, import, db upgrade) may
    be given a SQLite file that does not exist yet; it is removed again if the command fails."""
    from pathlib import Path

    from bontrack.storage.engine import make_engine, open_engine, sqlite_file

    url = settings.resolved_database_url()
    if not new:
        require_registry(settings)
    else:
        path = sqlite_file(url)
        if path is not None and not Path(path).exists() and path not in _CREATED:
            _CREATED.append(path)
    return open_engine(url) if create else make_engine(url)


@contextmanager
def _new_registry_removed_on_failure() -> Iterator[None]:
    """A registry this command created is deleted (with its side files) if the command fails."""
    import sys
    from pathlib import Path

    try:
        yield
    except BaseException as exc:
        if _CREATED and not (isinstance(exc, typer.Exit) and exc.exit_code == 0):
            engines = sys.modules.get("bontrack.storage.engine")
            if engines is not None:
                engines.dispose_all()
                for path in _CREATED:
                    for suffix in ("", *engines.SQLITE_SIDE_FILES):
                        Path(path + suffix).unlink(missing_ok=True)
            _CREATED.clear()
        raise
    _CREATED.clear()  # the command succeeded: what it created stays


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


M = TypeVar("M", bound="BaseModel")


def parse_options(schema: type[M], doc: dict[str, object], options: dict[str, str]) -> M:
    """A schema filled from a command's options, else an InputError naming each bad option as
    typed (``options``: a schema field -> its option, ``vial_count`` -> ``--count``) and saying
    in words what is allowed (not pydantic's wording)."""
    from pydantic import ValidationError

    from bontrack.errors import FieldError, InputError

    try:
        return schema.model_validate(doc, strict=False)
    except ValidationError as exc:
        errors = [
            FieldError(
                options.get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else "(options)",
                in_words(err),
            )
            for err in exc.errors(include_url=False)
        ]
        raise InputError(errors) from None


def in_words(err: Mapping[str, Any]) -> str:
    """One pydantic error about an option's value, said for people."""
    from bontrack.errors import cut, field_errors

    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    shown = cut(given if isinstance(given, str) else repr(given))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": f"{ctx.get('ge')} or more",
            "greater_than": f"more than {ctx.get('gt')}",
            "less_than_equal": f"{ctx.get('le')} or less",
            "less_than": f"less than {ctx.get('lt')}",
        }[kind]
        return f"must be {bound} (got {shown})"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} characters"
    if kind == "string_too_long":
        return f"must have at most {ctx.get('max_length')} characters (got {len(str(given)):,})"
    if kind == "date_range":  # a real day out of the allowed range: our own words say which
        return str(err["msg"])
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return f"{shown} is not a date; use YYYY-MM-DD, e.g. 2026-03-02"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"must be a whole number (got {shown})"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"must be a number (got {shown})"
    if kind in ("literal_error", "enum"):
        return f"{cut(repr(given))} is not allowed; allowed: {ctx.get('expected')}"
    return field_errors([err])[0].message  # (our validators' own words, and the rest)


@contextmanager
def options_named(options: dict[str, str]) -> Iterator[None]:
    """A service's InputError about a schema field renamed to the option the operator typed."""
    from bontrack.errors import FieldError, InputError

    try:
        yield
    except InputError as exc:
        exc.errors = [FieldError(options.get(e.field, e.field), e.message) for e in exc.errors]
        raise
