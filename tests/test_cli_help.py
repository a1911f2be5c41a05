"""Every command's `--help` shows its flags without a type (no ``--pdf <bool>``, no
``--help <bool>``) and exits 0, on a narrow terminal as on a wide one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from bontrack.cli import app

WIDTHS = (50, 100)


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _help(path: tuple[str, ...], columns: int) -> tuple[int, str]:
    """``bontrack PATH --help`` on a terminal ``columns`` wide (Rich reads COLUMNS)."""
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    return done.exit_code, done.output


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "bontrack" for p, _ in COMMANDS])
def test_help_shows_flags_bare(path: tuple[str, ...], command: object, columns: int) -> None:
    code, shown = _help(path, columns)
    assert code == 0, shown
    assert "<bool>" not in shown
    assert "--help " in shown


def test_the_walk_reaches_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "backup", "restore", "report", "serve", "db upgrade", "evidence pool", "user add"} <= names
    assert len(names) > 40
