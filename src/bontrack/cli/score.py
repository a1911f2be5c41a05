"""`bontrack score`: score a completed form from a JSON file, or interpret a change.

Only typer and the standard library are imported here; the scorers (pydantic, the knowledge
base) load when a command runs, so `bontrack --help` stays fast. Every input error goes to
stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from bontrack.cli.common import fail
from bontrack.cli.help_layout import App

score_app = App(
    help="Score outcome questionnaires (NPRS, VAS, NDI, RAND-36) and interpret change.",
    no_args_is_help=True,
)

ANSWERS_HELP = (
    'JSON object from item number ("1".."N") to the response code as printed on the form; '
    "a blank item is absent or null. '-' reads standard input."
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"item {key!r} is given twice")
        seen[key] = value
    return seen


def _read_answers(path: Path) -> dict[str, Any]:
    stdin = str(path) == "-"
    name = "standard input" if stdin else str(path)
    try:
        text = sys.stdin.read() if stdin else path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{name} is not UTF-8 text")
    except OSError as exc:
        fail(f"cannot read {name}: {exc.strerror or exc}")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        fail(
            f"{name} is not valid JSON: {exc.msg.removesuffix(' at')} (line {exc.lineno}, column {exc.colno})"
        )
    except ValueError as exc:
        fail(f"{name}: {exc}")
    if not isinstance(data, dict):
        fail(
            f"{name} must hold a JSON object from item number to response code, "
            f"not a JSON {type(data).__name__}"
        )
    return data


def _score(instrument_id: str, path: Path) -> None:
    from bontrack.instruments.answers import InstrumentError
    from bontrack.instruments.scoring import score

    answers = _read_answers(path)
    try:
        result = score(instrument_id, answers)
    except InstrumentError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result.to_dict(), indent=2))


@score_app.command()
def nprs(answers: Path = typer.Argument(..., help=ANSWERS_HELP)) -> None:
    """Numeric Pain Rating Scale: {"1": 0-10}."""
    _score("nprs", answers)


@score_app.command()
def vas(answers: Path = typer.Argument(..., help=ANSWERS_HELP)) -> None:
    """Pain visual analogue scale: {"1": 0-100 mm}."""
    _score("vas", answers)


@score_app.command()
def ndi(answers: Path = typer.Argument(..., help=ANSWERS_HELP)) -> None:
    """Neck Disability Index: items "1".."10", codes 0-5; up to 2 blanks are prorated."""
    _score("ndi", answers)


@score_app.command()
def rand36(answers: Path = typer.Argument(..., help=ANSWERS_HELP)) -> None:
    """RAND 36-Item Health Survey 1.0: items "1".."36", codes from 1 as printed."""
    _score("rand36", answers)


@score_app.command()
def change(
    instrument: str = typer.Option(..., help="nprs, vas, ndi or rand36"),
    baseline: float = typer.Option(..., help="score at baseline"),
    followup: float = typer.Option(..., help="score at follow-up"),
    score: str | None = typer.Option(
        None,
        help="score name; default: nprs pain_intensity, vas pain_intensity_mm, ndi total (0-50), rand36 pain",
    ),
) -> None:
    """Change from baseline: percent change, IMMPACT responders (30%, 50%) and MCID."""
    from bontrack.instruments.answers import InstrumentError
    from bontrack.instruments.responders import change_from_baseline

    try:
        result = change_from_baseline(instrument, baseline, followup, score)
    except InstrumentError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result.to_dict(), indent=2))
