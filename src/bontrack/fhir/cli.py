"""`bontrack fhir import BUNDLE.json`: a transaction Bundle (or one Patient) from the EHR, as
POST /fhir does it: all or nothing, audited, importing the same file twice changes nothing.

Exit 0 with a summary; 2 for bad input, each line naming the element's FHIRPath; 1 when the
database cannot be used. Only typer loads at the top, so `bontrack --help` stays fast.
"""

from __future__ import annotations

import typer

from bontrack.cli.common import EXIT_INVALID, settings_of
from bontrack.cli.help_layout import App

fhir_app = App(help="FHIR R4: import patients from the EHR.", no_args_is_help=True)


@fhir_app.command("import")
def import_command(
    ctx: typer.Context,
    source: str = typer.Argument(
        ..., metavar="BUNDLE.json", help="A transaction Bundle or a Patient; '-' reads standard input."
    ),
    clinic: str | None = typer.Option(
        None,
        "--clinic",
        metavar="ID",
        help="The clinic the patients belong to (needed when the registry has several).",
    ),
    date: str | None = typer.Option(
        None,
        "--date",
        metavar="YYYY-MM-DD",
        help="The screening's date when the Bundle has no timestamp (default: today).",
    ),
) -> None:
    """Import patients, their pain episode and the screening's medicines and allergies from a FHIR file."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from bontrack.cli.common import read_text
    from bontrack.cli.registry import engine, err_console, parse_date, run
    from bontrack.fhir.import_outcome import FhirImportError
    from bontrack.fhir.import_roles import WRITES
    from bontrack.fhir.import_writes import import_fhir
    from bontrack.fhir.importing import read_document
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)
    actor = settings.resolved_actor()
    text = read_text(source)

    def go() -> None:
        today = parse_date("--date", date)
        try:
            document = read_document(text)
            with transaction(engine(settings)) as db:
                clinic_id = clinic or _only_clinic(db, actor)
                result = import_fhir(db=db, actor=actor, clinic_id=clinic_id, document=document, today=today)
        except FhirImportError as exc:
            err = err_console()
            for issue in exc.issues:
                where = issue.expression or source
                err.print(f"[bold red]error[/] {where}: {issue.message}", soft_wrap=True, markup=True)
            err.print("Nothing was imported.")
            raise typer.Exit(EXIT_INVALID) from None
        table = Table(title=f"Imported {Path(source).name}", show_lines=False)
        for column in ("record", "created", "corrected", "unchanged"):
            table.add_column(column)
        for kind in WRITES:
            counts = [str(result.counts[kind.name, what]) for what in ("created", "corrected", "unchanged")]
            table.add_row(kind.label, *counts)
        console = Console()
        console.print(table)
        for patient, what in result.patients:
            console.print(f"patient {patient.data.record_number} ({patient.id}): {what}", highlight=False)
        for i, entry in enumerate(result.entries):
            for note in entry.notes:
                if note.startswith("not "):
                    console.print(f"Bundle.entry[{i}]: {note}", highlight=False, soft_wrap=True)

    run(go)


def _only_clinic(db: object, actor: str) -> str:
    """The registry's one clinic; else --clinic is needed (invalid input naming it)."""
    from sqlalchemy.orm import Session

    from bontrack import records
    from bontrack.errors import InputError
    from bontrack.patients.models import ClinicRow

    assert isinstance(db, Session)
    clinics = records.find_current(db, row_cls=ClinicRow, actor=actor, purpose="FHIR import: the clinic")
    if len(clinics) == 1:
        return clinics[0].id
    if not clinics:
        raise InputError.one("--clinic", "the registry has no clinic yet; create one first")
    names = ", ".join(f"{c.id} ({c.data.get('name', '')})" for c in clinics)
    raise InputError.one("--clinic", f"the registry has {len(clinics)} clinics; give one of: {names}")
