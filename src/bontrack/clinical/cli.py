"""`bontrack check` and `bontrack tour`: the safety check from the command line.

Exit codes: 0 allow or warn, 3 block, 2 invalid input (the message names the field).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

EXIT_INVALID = 2
EXIT_BLOCK = 3


class Format(StrEnum):
    json = "json"
    text = "text"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_INVALID)


def read_json(path: str) -> Any:
    """Read a JSON document from a file or '-' (standard input); a readable error if it is not JSON."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise _fail(f"{path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def check_command(
    plan: str = typer.Argument(..., metavar="PLAN.json", help="The proposed session ('-' reads stdin)."),
    fmt: Format = typer.Option(
        Format.json, "--format", "-f", help="json (default) or a readable text table."
    ),
) -> None:
    """Check a proposed injection session: allow, warn or block, each reason with its source."""
    from bontrack.clinical.decision import decide
    from bontrack.clinical.plan import parse_check_request
    from bontrack.errors import PlanInputError
    from bontrack.knowledge import load_knowledge

    data = read_json(plan)
    kb = load_knowledge()
    try:
        request = parse_check_request(data, kb)
    except PlanInputError as exc:
        for err in exc.errors:
            typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    decision = decide(request, kb)
    if fmt is Format.json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        from bontrack.clinical.report import print_decision

        print_decision(decision, title=plan)
    if decision.decision == "block":
        raise typer.Exit(EXIT_BLOCK)


def tour_command(
    folder: Path = typer.Argument(Path("examples"), help="Folder of example plans (*.json)."),
) -> None:
    """Walk through the example plans and show each decision readably."""
    from bontrack.clinical.decision import decide
    from bontrack.clinical.plan import parse_check_request
    from bontrack.clinical.report import console, print_decision
    from bontrack.errors import PlanInputError
    from bontrack.knowledge import load_knowledge

    files = sorted(folder.glob("*.json"))
    if not files:
        raise _fail(f"no *.json plans in {folder}")
    kb = load_knowledge()
    out = console()
    out.print(f"[bold]bontrack safety check[/] - knowledge base {kb.version}, {len(files)} example plans\n")
    for path in files:
        data = read_json(str(path))
        try:
            request = parse_check_request(data, kb)
            decision = decide(request, kb)
        except PlanInputError as exc:
            out.print(f"[bold red]{path.name}: invalid input[/]")
            for err in exc.errors:
                out.print(f"  {err}")
            continue
        print_decision(decision, title=f"{path.name}: {request.note}", to=out)
