"""`bontrack plan-dose` and `bontrack code`.

Exit codes: plan-dose 0 (a plan the engine allows or warns on), 3 (no plan within the limits, or
the engine blocks the plan), 2 (invalid input naming the field); code 0, or 2 naming the field.
"""

from __future__ import annotations

import json

import typer

from bontrack.cli.common import EXIT_BLOCK, fail_each, read_json


def plan_dose_command(
    request: str = typer.Argument(
        ..., metavar="REQUEST.json", help="check input without plan.sites, plus targets"
    ),
) -> None:
    """Propose a dose plan (sites, vials, dilution) within every limit, with the engine's decision."""
    from bontrack.errors import PlanInputError
    from bontrack.planning.dose import PlanningError, parse_plan_dose_request, plan_dose
    from bontrack.planning.knowledge import load_planning

    data = read_json(request)
    pk = load_planning()
    try:
        result = plan_dose(parse_plan_dose_request(data, pk), pk)
    except PlanInputError as exc:
        fail_each(list(exc.errors))
    except PlanningError as exc:
        typer.echo(json.dumps({"planned": False, "reason": exc.reason, "source": exc.source}, indent=2))
        typer.echo(f"cannot plan: {exc.reason}", err=True)
        raise typer.Exit(EXIT_BLOCK) from None
    typer.echo(result.model_dump_json(indent=2))
    if result.decision.decision == "block":
        raise typer.Exit(EXIT_BLOCK)


def code_command(
    plan: str = typer.Argument(
        ..., metavar="PLAN.json", help="check input of what was given ('-' reads stdin)"
    ),
) -> None:
    """Billing lines for an administered session: HCPCS with JW/JZ, procedure codes, NDC, warnings."""
    from bontrack.errors import PlanInputError
    from bontrack.planning.billing import code_session
    from bontrack.planning.knowledge import load_planning

    data = read_json(plan)
    try:
        result = code_session(data, load_planning())
    except PlanInputError as exc:
        fail_each(list(exc.errors))
    typer.echo(result.model_dump_json(indent=2))
