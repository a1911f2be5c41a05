"""The Typer app, group and command classes of every `bontrack` command: `--help` as Typer draws
it (its Rich boxes), less a mistake of Typer 0.29.

Flags. Typer 0.29 (0.29.0 to 0.29.2, the latest) draws a flag in its Rich help with a type, as
if it took a value: ``--pdf <bool>``, ``--help <bool>``. Its options panel writes every option's
``display_type_rich`` without asking ``is_flag`` (0.28 left out any type naming ``bool``; the
plain help still leaves flags bare). That method returns an option's metavar when it has one, so
a flag whose metavar is ``""`` is drawn bare. A ``metavar=""`` on each declaration would mend our
own flags but not ``--help``, which Typer makes; so the classes below give every flag of a
command, ``--help`` among them, the metavar ``""`` before its help is drawn (nothing else reads a
flag's metavar).

No method of Typer or Click is replaced: these are subclasses, given to Typer through its ``cls``
parameters; ``App`` is a ``typer.Typer`` whose groups and commands are ``Group`` and ``Command``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typer.models import CommandFunctionType


def unlabel_flags(params: Iterable[object]) -> None:
    """Give each flag among ``params`` that has no metavar the metavar ``""`` (no type drawn)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""


class Command(TyperCommand):
    """A command whose help shows its flags bare."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        unlabel_flags(self.get_params(ctx))
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """A group (``bontrack``, ``bontrack db``, ...) whose help shows its flags bare."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        unlabel_flags(self.get_params(ctx))
        super().format_help(ctx, formatter)


class App(typer.Typer):
    """A ``typer.Typer`` whose groups are ``Group`` and whose commands are ``Command``, unless a
    ``cls`` says otherwise."""

    def __init__(self, *, cls: type[TyperGroup] | None = None, **kwargs: Any) -> None:
        super().__init__(cls=cls or Group, **kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **kwargs)
