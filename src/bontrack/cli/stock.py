"""`bontrack stock` (list, receive, discard) and `bontrack recall LOT`.

Exit codes: 0, or 2 for invalid input naming the field (a lot not in stock, more vials than are
left, an unknown product or vial size), or 1 when the database cannot be used.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from bontrack.cli.common import Format, choose_format, clinic_name, counted, settings_of
from bontrack.cli.help_layout import App
from bontrack.cli.registry import engine, options_named, parse_date, parse_options, run

stock_app = App(
    help="Toxin stock by lot: list it, receive a delivery, discard unopened vials.",
    invoke_without_command=True,
)


def _fmt(units: float) -> str:
    return f"{units:g}"


def _brand(product_id: str) -> str:
    """The product as every face names it ("onabotulinumtoxinA (Botox)")."""
    from bontrack.knowledge import load_knowledge

    return load_knowledge().product_name(product_id)


@stock_app.callback()
def stock_list(
    ctx: typer.Context,
    date: str | None = typer.Option(None, "--date", metavar="YYYY-MM-DD", help="Judge expiry on this day."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    product: str | None = typer.Option(None, "--product", help="Only this product (id or brand)."),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id."),
    all_lots: bool = typer.Option(False, "--all", help="Also lots with no vials left."),
) -> None:
    """The stock by product and expiry (soonest first); lots expiring soon are flagged."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from bontrack.stock.service import expiry_warning_days, stock_on_hand
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        chosen = choose_format(fmt, Format.table, Format.json)
        day = parse_date("--date", date)
        with transaction(engine(settings)) as db:
            if clinic is not None:
                clinic_name(db, settings.resolved_actor(), clinic)
            lines = stock_on_hand(
                db=db,
                actor=settings.resolved_actor(),
                on=day,
                clinic_id=clinic,
                product=product,
                include_empty=all_lots,
            )
        if chosen is Format.json:
            print(json.dumps([x.model_dump(mode="json") for x in lines], indent=2))
            return
        table = Table(title=f"Toxin stock on {day}")
        for column in (
            "product",
            "lot",
            "expiry",
            "vial",
            "left",
            "received",
            "opened",
            "discarded",
            "supplier",
        ):
            table.add_column(
                column,
                justify="right" if column in ("vial", "left", "received", "opened", "discarded") else "left",
            )
        for x in lines:
            expiry = str(x.expiry)
            if x.expired:
                expiry = f"[bold red]{expiry} expired[/]"
            elif x.expiring_soon:
                expiry = f"[yellow]{expiry} in {x.days_to_expiry} d[/]"
            table.add_row(
                _brand(x.product),
                x.lot,
                expiry,
                f"{_fmt(x.vial_units)} U",
                str(x.remaining),
                str(x.received),
                str(x.opened),
                str(x.discarded),
                ", ".join(x.suppliers),
            )
        console = Console()
        console.print(table if lines else "No vials in stock.")
        if any(x.expiring_soon for x in lines):
            console.print(f"Flagged: lots that expire within {expiry_warning_days()} days; use them first.")

    run(go)


# the schemas' fields as the options that fill them, for errors in the operator's words
RECEIVE_OPTIONS = {
    "product": "--product",
    "lot": "--lot",
    "expiry": "--expiry",
    "vial_units": "--vial-units",
    "vial_count": "--count",
    "supplier": "--supplier",
    "received_on": "--date",
    "clinic_id": "--clinic",
}
DISCARD_OPTIONS = {
    "lot": "--lot",
    "vial_count": "--count",
    "reason": "--reason",
    "discarded_on": "--date",
    "clinic_id": "--clinic",
}


@stock_app.command("receive")
def stock_receive(
    ctx: typer.Context,
    product: str = typer.Option(..., "--product", help="Product id or brand (e.g. botox)."),
    lot: str = typer.Option(..., "--lot", help="The lot number on the carton."),
    expiry: str = typer.Option(..., "--expiry", metavar="YYYY-MM-DD", help="The expiry date on the carton."),
    vial_units: float = typer.Option(
        ..., "--vial-units", help="Units per vial (one of the product's sizes)."
    ),
    count: int = typer.Option(..., "--count", help="Number of vials received."),
    supplier: str = typer.Option(..., "--supplier", help="Who delivered them."),
    received_on: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="Day received (today)."
    ),
    clinic: str | None = typer.Option(
        None, "--clinic", help="The clinic id that received them (default: the only clinic)."
    ),
) -> None:
    """Record a delivery of vials of one lot."""
    from bontrack.stock.schemas import StockReceiptCreate
    from bontrack.stock.service import receipt_warnings, receive_vials
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        doc: dict[str, Any] = {
            "product": product,
            "lot": lot,
            "expiry": expiry,
            "vial_units": vial_units,
            "vial_count": count,
            "supplier": supplier,
            "received_on": parse_date("--date", received_on).isoformat(),
        }
        data = parse_options(StockReceiptCreate, doc, RECEIVE_OPTIONS)
        with transaction(engine(settings)) as db, options_named(RECEIVE_OPTIONS):
            actor = settings.resolved_actor()
            chosen = clinic or _only_clinic(db, actor)
            saved = receive_vials(db=db, actor=actor, data=data, clinic_id=chosen)
        print(json.dumps(saved.model_dump(mode="json"), indent=2))
        for warning in receipt_warnings(saved.data):  # an expired lot is kept: say so (as the API does)
            print(f"warning {warning}", file=sys.stderr)

    run(go)


def _only_clinic(db: Any, actor: str) -> str:
    """The clinic that received the vials when --clinic is not given: the actor's own, else the
    registry's only clinic; several clinics: exit 2 asking for --clinic (with their ids)."""
    from bontrack import records
    from bontrack.actor import clinic_of
    from bontrack.errors import InputError
    from bontrack.patients.models import ClinicRow

    own = clinic_of(actor)
    if own is not None:
        return own
    clinics = records.find_current(db, row_cls=ClinicRow, actor=actor, purpose="stock: which clinic")
    if len(clinics) == 1:
        return clinics[0].id
    if not clinics:
        raise InputError.one("--clinic", "the registry holds no clinic yet")
    names = ", ".join(f"{c.id} ({c.data.get('name', '')})" for c in clinics)
    raise InputError.one(
        "--clinic",
        f"the registry holds {len(clinics)} clinics; name the one that received the vials: {names}",
    )


@stock_app.command("discard")
def stock_discard(
    ctx: typer.Context,
    lot: str = typer.Option(..., "--lot", help="The lot number."),
    count: int = typer.Option(..., "--count", help="Number of unopened vials thrown away."),
    reason: str = typer.Option(..., "--reason", help="Why (expired, damaged, recalled, cold chain broken)."),
    day: str | None = typer.Option(None, "--date", metavar="YYYY-MM-DD", help="Day discarded (today)."),
    clinic: str | None = typer.Option(None, "--clinic", help="The clinic id, when the lot is at several."),
) -> None:
    """Record unopened vials of a lot thrown away (their units count as discarded)."""
    from bontrack.stock.schemas import DiscardRequest
    from bontrack.stock.service import discard_vials
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        doc = {
            "lot": lot,
            "vial_count": count,
            "reason": reason,
            "discarded_on": parse_date("--date", day).isoformat(),
        }
        data = parse_options(DiscardRequest, doc, DISCARD_OPTIONS)
        with transaction(engine(settings)) as db, options_named(DISCARD_OPTIONS):
            saved = discard_vials(db=db, actor=settings.resolved_actor(), data=data, clinic_id=clinic)
        print(json.dumps(saved.model_dump(mode="json"), indent=2))

    run(go)


def recall_command(
    ctx: typer.Context,
    lot: str = typer.Argument(..., metavar="LOT", help="The recalled lot number."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Every patient and session that received a lot, with contact details (audited)."""
    from rich.console import Console
    from rich.table import Table

    from bontrack.stock.service import recall
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        chosen = choose_format(fmt, Format.table, Format.json)
        with transaction(engine(settings)) as db:
            found = recall(db=db, actor=settings.resolved_actor(), lot=lot)
        if chosen is Format.json:
            print(json.dumps(found.model_dump(mode="json"), indent=2))
            return
        table = Table(
            title=f"Lot {found.lot}: {counted(found.patients, 'patient')}, "
            f"{counted(len(found.sessions), 'session')}, {counted(found.clinics, 'clinic')}"
        )
        for column in ("record", "name", "phone", "email", "session date", "product", "units", "clinic"):
            table.add_column(column)
        for x in found.sessions:
            table.add_row(
                x.record_number,
                x.name,
                x.phone or "-",
                x.email or "-",
                str(x.date),
                _brand(x.product),
                _fmt(x.total_units),
                x.clinic_id,
            )
        Console().print(table if found.sessions else f"No session used lot {found.lot}.")

    run(go)


@stock_app.command("waste")
def stock_waste(
    ctx: typer.Context,
    date: str | None = typer.Option(None, "--date", metavar="YYYY-MM-DD", help="Up to this day (today)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id."),
) -> None:
    """Toxin waste per month and product: units bought, given, discarded and the share discarded."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from bontrack.reports.data import cohort_frames
    from bontrack.reports.sections.waste import waste, waste_csv
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        chosen = choose_format(fmt, Format.table, Format.csv, Format.json)
        day = parse_date("--date", date)
        with transaction(engine(settings)) as db:
            if clinic is not None:
                clinic_name(db, settings.resolved_actor(), clinic)
            frames = cohort_frames(
                db=db, actor=settings.resolved_actor(), clinic_id=clinic, purpose="waste report"
            )
        rows = waste(frames, day)
        if chosen is Format.csv:
            sys.stdout.write(waste_csv(rows))
            return
        if chosen is Format.json:
            print(json.dumps([asdict(r) for r in rows], indent=2))
            return
        table = Table(title=f"Toxin waste up to {day} (units of each product)")
        for column in (
            "month",
            "product",
            "bought",
            "given",
            "left in opened vials",
            "unopened discarded",
            "share",
        ):
            table.add_column(column, justify="left" if column in ("month", "product") else "right")
        for r in rows:
            share = "-" if r.share_discarded is None else f"{100 * r.share_discarded:.1f}%"
            table.add_row(
                r.month,
                _brand(r.product),
                _fmt(r.bought_units),
                _fmt(r.administered_units),
                _fmt(r.discarded_in_sessions_units),
                _fmt(r.discarded_unopened_units),
                share,
            )
        Console().print(table if rows else "No toxin given, bought or discarded yet.")

    run(go)
