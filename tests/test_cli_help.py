"""Every command's `--help` reads whole, on a narrow terminal as on a wide one: flags are shown
without a type (no ``--pdf <bool>``), no word is cut ("sqlite:///bontrack.db…"), no line is wider
than the terminal, and each command exits 0.

"Whole" is checked word by word: every option's name, every word of every help text (the
command's, its options' and arguments', and for a group the first paragraph of each of its
commands) is found in the help as written, once the help's spaces and box lines are taken out
(Rich's table and Click's wrapper then leave a word that was wrapped or broken at a hyphen whole,
and a word cut with an ellipsis, or a listing cut with "...", missing).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
import typer
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from bontrack.cli import app

# 79 and 80: either side of the width below which the help is Typer's plain layout
# (bontrack.cli.help_layout.RICH_HELP_COLUMNS).
WIDTHS = (50, 79, 80, 100)


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _help(path: tuple[str, ...], columns: int) -> tuple[int, str]:
    """``bontrack PATH --help`` on a terminal ``columns`` wide: Rich reads COLUMNS; Click's plain
    layout is told the width (the test runner would otherwise force 80)."""
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    return done.exit_code, done.output


def _paragraph(text: str | None, *, first: bool = False) -> list[str]:
    text = inspect.cleandoc(text or "").partition("\f")[0]
    return (text.split("\n\n")[0] if first else text).split()


def _words_shown(command: object) -> set[str]:
    """The words `--help` must show of ``command``: its help, its parameters' names and help, and
    the first paragraph of each of its commands' help."""
    words = set(_paragraph(getattr(command, "help", None)))
    for param in getattr(command, "params", []):
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, TyperOption):
            words.update(param.opts, param.secondary_opts)
        elif isinstance(param, TyperArgument):
            words.add(param.metavar or param.name or "")
        words.update(_paragraph(getattr(param, "help", None)))
    for name, sub in getattr(command, "commands", {}).items():
        words.add(name)
        words.update(_paragraph(sub.short_help or sub.help, first=True))
    return words - {""}


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "bontrack" for p, _ in COMMANDS])
def test_each_help_reads_whole_with_flags_bare(path: tuple[str, ...], command: object, columns: int) -> None:
    code, shown = _help(path, columns)
    assert code == 0, shown
    assert "<bool>" not in shown
    assert "…" not in shown
    assert [line for line in shown.splitlines() if len(line) > columns] == []
    stream = "".join(shown.replace("│", " ").split())
    assert sorted(word for word in _words_shown(command) if word not in stream) == []


def test_the_walk_reaches_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "backup", "restore", "report", "serve", "db upgrade", "evidence pool", "user add"} <= names
    assert len(names) > 40


@pytest.mark.parametrize(("columns", "boxed"), [(79, False), (80, True), (100, True)])
def test_the_help_is_drawn_in_boxes_from_80_columns(columns: int, boxed: bool) -> None:
    code, shown = _help(("backup",), columns)
    assert code == 0
    assert ("╭─ Options" in shown) is boxed
    assert ("\nOptions:\n" in shown) is not boxed


def test_a_narrow_backup_help_reads_whole() -> None:
    code, shown = _help(("backup",), 50)
    assert code == 0
    flat = " ".join(shown.split())
    assert "--force Replace FILE if it exists." in flat
    assert "sqlite:///bontrack.db)." in flat
    assert "/usr/lib/postgresql/*/bin, else PATH)." in flat


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("path", [(), ("db",), ("user",)], ids=["bontrack", "db", "user"])
def test_a_group_without_arguments_shows_its_help(path: tuple[str, ...], columns: int) -> None:
    done = CliRunner().invoke(app, list(path), env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert done.exit_code == 2
    assert f"Usage: {' '.join(('bontrack', *path))} [OPTIONS] COMMAND" in done.output
    assert "…" not in done.output


@pytest.mark.parametrize("columns", WIDTHS)
def test_a_usage_error_is_shown(columns: int) -> None:
    done = CliRunner().invoke(app, ["backup"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert done.exit_code == 2
    assert "Missing argument 'FILE'." in done.output
