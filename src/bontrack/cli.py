"""The `bontrack` command. Faces hold no clinical logic: they parse, call, and print.

Imports of heavy modules stay inside the commands, so `bontrack check` starts fast.
"""

from __future__ import annotations

import typer

from bontrack.clinical.cli import check_command, tour_command
from bontrack.instruments.cli import score_app

app = typer.Typer(
    name="bontrack",
    help="Botulinum toxin + physical therapy pathway for chronic myofascial neck pain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("check")(check_command)
app.command("tour")(tour_command)


@app.callback()
def _root() -> None:
    """bontrack: safety checks, registry and outcomes for BoNT neck-pain clinics."""


app.add_typer(score_app, name="score")


def main() -> None:
    app()
