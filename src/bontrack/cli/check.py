"""`bontrack check` and `bontrack tour`: the safety check from the command line.

Exit codes: 0 allow or warn, 3 block, 2 invalid input (the message names the field).
"""

from __future__ import annotations

from pathlib import Path

import typer

from bontrack.cli.common import EXIT_BLOCK, CheckFormat, fail, fail_each, read_json


def check_command(
    plan: str = typer.Argument(..., metavar="PLAN.json", help="The proposed session ('-' reads stdin)."),
    fmt: CheckFormat = typer.Option(
        CheckFormat.json, "--format", "-f", help="json (default) or a readable text table."
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
        fail_each(list(exc.errors))
    decision = decide(request, kb)
    if fmt is CheckFormat.json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        from bontrack.cli.render import print_decision

        print_decision(decision, title=plan)
    if decision.decision == "block":
        raise typer.Exit(EXIT_BLOCK)


def tour_command(
    folder: Path = typer.Argument(Path("examples"), help="Folder of example plans (*.json)."),
) -> None:
    """Walk through the example plans and show each decision readably."""
    from bontrack.cli.render import console, print_decision
    from bontrack.clinical.decision import decide
    from bontrack.clinical.plan import parse_check_request
    from bontrack.errors import PlanInputError
    from bontrack.knowledge import load_knowledge

    files = sorted(folder.glob("*.json"))
    if not files:
        fail(f"no *.json plans in {folder}")
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
