"""What every command shares: exit codes, the --format choices, reading input, failing, the settings.

Only typer and the standard library load here, so `bontrack check` and `bontrack --help` start fast.
A command stops by raising ``typer.Exit`` with one of the codes below, never by ``sys.exit``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from bontrack.config import Settings

EXIT_OK = 0
EXIT_STORAGE = 1  # the database cannot be used
EXIT_INVALID = 2  # invalid input; the message names the field
EXIT_BLOCK = 3  # the safety check blocks, or no plan fits within the limits


class Format(StrEnum):
    """Every output format a command offers; each command accepts its own few."""

    json = "json"
    text = "text"
    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


class CheckFormat(StrEnum):
    """The formats of `bontrack check` (a Typer choice)."""

    json = Format.json.value
    text = Format.text.value


def choose_format(value: str, *allowed: Format) -> Format:
    """``value`` as one of ``allowed``, else invalid input naming --format."""
    from bontrack.errors import InputError

    if value not in allowed:
        names = ", ".join(allowed)
        raise InputError.one("--format", f"{value!r} is not a format; allowed: {names}")
    return Format(value)


def fail(message: str) -> NoReturn:
    """Stop with 'error: message' on standard error and exit code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_INVALID)


def fail_option(option: str, message: str) -> NoReturn:
    """Stop with 'error OPTION: message' (as the registry's commands print it) and exit code 2."""
    typer.echo(f"error {option}: {message}", err=True)
    raise typer.Exit(EXIT_INVALID)


def fail_each(errors: list[object]) -> NoReturn:
    """Stop with one 'error: ...' line per error and exit code 2."""
    for err in errors:
        typer.echo(f"error: {err}", err=True)
    raise typer.Exit(EXIT_INVALID)


def read_text(path: str) -> str:
    """A file, or standard input for '-'; a readable error if it cannot be read."""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")


def read_json(path: str) -> Any:
    """Read a JSON document from a file or '-' (standard input); a readable error if it is not JSON."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(
            f"{path} is not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
        )


@dataclass(frozen=True)
class GlobalOptions:
    """The root command's --db and --actor; the settings are built from them (and the
    environment) once, when a command first needs them, so `bontrack check` never loads them."""

    database_url: str | None = None
    actor: str | None = None
    read_database_url: str | None = None

    @cached_property
    def settings(self) -> Settings:
        from bontrack.config import Settings

        return Settings.from_options(
            database_url=self.database_url, actor=self.actor, read_database_url=self.read_database_url
        )


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of this run (from --db, --actor and the environment)."""
    options = ctx.find_root().obj
    return (options if isinstance(options, GlobalOptions) else GlobalOptions()).settings


def clinic_name(db: Any, actor: str, clinic_id: str) -> str:
    """The name of the clinic ``--clinic`` names (its id if it has none). An id the registry does
    not hold (or the actor may not see) is an InputError naming --clinic with the clinics it holds,
    not an empty answer that looks like a clinic with nothing recorded."""
    from bontrack import records
    from bontrack.errors import InputError
    from bontrack.patients.models import ClinicRow

    clinics = records.find_current(db, row_cls=ClinicRow, actor=actor, purpose="--clinic: which clinic")
    for found in clinics:
        if found.id == clinic_id:
            return str(found.data.get("name") or found.id)
    held = ", ".join(f"{c.id} ({c.data.get('name', '')})" for c in clinics[:20]) or "none yet"
    more = f" and {len(clinics) - 20:,} more" if len(clinics) > 20 else ""
    raise InputError.one(
        "--clinic", f"no clinic {clinic_id[:64]!r} in this registry; its clinics: {held}{more}"
    )


def counted(n: int, noun: str) -> str:
    """``1 patient``, ``3 patients``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
