"""The Typer app, group and command classes of every `bontrack` command: `--help` drawn by Typer
(its Rich boxes), less a mistake of Typer 0.29, and in Typer's plain layout on a narrow terminal.

Flags. Typer 0.29 (0.29.0 to 0.29.2, the latest) draws a flag in its Rich help with a type, as
if it took a value: ``--pdf <bool>``, ``--help <bool>``. Its options panel writes every option's
``display_type_rich`` without asking ``is_flag`` (0.28 left out any type naming ``bool``; the
plain help still leaves flags bare). That method returns an option's metavar when it has one, so
a flag whose metavar is ``""`` is drawn bare. A ``metavar=""`` on each declaration would mend our
own flags but not ``--help``, which Typer makes; so the classes below give every flag of a
command, ``--help`` among them, the metavar ``""`` before its help is drawn (nothing else reads a
flag's metavar).

Narrow terminals. Typer's Rich help is a table whose columns Rich narrows together when the
terminal is too narrow, and a word longer than its column is cut with "…", option names among
them (``--forwarded-allow-ips`` cannot be shown whole at 50 columns, whatever its help says).
Below ``RICH_HELP_COLUMNS`` the help is Typer's plain layout instead (what Typer shows with
``rich_markup_mode=None``), which wraps every line and cuts nothing; in it a group lists each
command with its whole first sentence, as the Rich panel does, where Click would cut it at the
terminal's width with "...". Typer's errors are then plain too: a group run without a command
shows its help through one of them (on standard error, as Click does), which Typer's Rich error
printer would drop.

No method of Typer or Click is replaced: these are subclasses, given to Typer through its ``cls``
parameters; ``App`` is a ``typer.Typer`` whose groups and commands are ``Group`` and ``Command``.
"""

from __future__ import annotations

import inspect
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from typer.models import CommandFunctionType

# The narrowest terminal the Rich help is drawn on (the classic terminal's width); every command's
# help fits it whole (tests/test_cli_help.py).
RICH_HELP_COLUMNS = 80


def unlabel_flags(params: Iterable[object]) -> None:
    """Give each flag among ``params`` that has no metavar the metavar ``""`` (no type drawn)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""


def terminal_columns() -> int:
    """The width Typer draws its Rich help at: TERMINAL_WIDTH (Typer's setting) if given, else
    Rich's reading of the terminal (COLUMNS first; 80 when there is no terminal)."""
    from rich.console import Console

    forced = os.environ.get("TERMINAL_WIDTH", "")
    return int(forced) if forced.isdigit() else Console().width


def first_paragraph(help_text: str | None) -> str:
    """A command's line in its group's list: the first paragraph of its help, on one line."""
    return " ".join(inspect.cleandoc(help_text or "").split("\n\n")[0].split())


class _Marked(Protocol):
    """A command or group: Typer's markup setting of its help."""

    rich_markup_mode: Any


@contextmanager
def plain_if_narrow(command: _Marked) -> Iterator[None]:
    """Within: ``command``'s help is Typer's plain layout (its ``rich_markup_mode`` None, Typer's
    setting for it) if the terminal is narrower than ``RICH_HELP_COLUMNS``, else as it was."""
    if terminal_columns() >= RICH_HELP_COLUMNS:
        yield
        return
    mode, command.rich_markup_mode = command.rich_markup_mode, None
    try:
        yield
    finally:
        command.rich_markup_mode = mode


class _Help:
    """What a command and a group share: flags shown bare, and no word cut (the module's text)."""

    rich_markup_mode: Any
    help: str | None
    short_help: str | None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        unlabel_flags(self.get_params(ctx))  # type: ignore[attr-defined]
        with plain_if_narrow(self):
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with plain_if_narrow(self):  # the errors, and a group's help when run without a command
            return super().main(*args, **kwargs)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        """Its line in the plain layout's list of commands: its whole first paragraph."""
        return first_paragraph(self.short_help or self.help)


class Command(_Help, TyperCommand):
    """A command whose help shows flags bare and cuts no word."""


class Group(_Help, TyperGroup):
    """A group (``bontrack``, ``bontrack db``, ...) whose help shows flags bare and cuts no word."""


class App(typer.Typer):
    """A ``typer.Typer`` whose groups are ``Group`` and whose commands are ``Command``, unless a
    ``cls`` says otherwise."""

    def __init__(self, *, cls: type[TyperGroup] | None = None, **kwargs: Any) -> None:
        super().__init__(cls=cls or Group, **kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **kwargs)
