"""The report renders a registry that holds year-9999 and year-0001 records (D1).

Such records are written below the validation (storage level), as an import from elsewhere
could have left them; `bontrack report` still writes its HTML, PDF and JSON.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from bontrack import records
from bontrack.cli import app
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate, SessionRecord
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeRecord
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.storage.engine import open_engine, transaction

EXTREMES = (dt.date(9999, 12, 31), dt.date(1, 1, 1))


def bontrack(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _poison(url: str) -> int:
    """Copies of stored records with extreme dates, written without validation; how many."""
    kinds: list[tuple[type[records.VersionedRow], type[BaseModel], str]] = [
        (PatientRow, PatientCreate, "birth_date"),
        (InjectionSessionRow, SessionRecord, "date"),
        (OutcomeRow, OutcomeRecord, "date"),
        (AdverseEventRow, AdverseEventCreate, "onset_date"),
    ]
    made = 0
    with transaction(open_engine(url)) as db:
        for row_cls, schema, field in kinds:
            rows = list(db.scalars(select(row_cls).where(row_cls.version == 1).limit(6)))
            assert rows, row_cls
            for row, day in zip(rows, itertools.cycle(EXTREMES), strict=False):
                data = records.to_read(row, schema).data.model_copy(update={field: day})
                records.create(db, row_cls=row_cls, data=data, clinic_id=row.clinic_id, actor="test:poison")
                made += 1
    return made


def test_report__a_registry_with_year_9999_and_0001_records_renders_html_pdf_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", "40", "--seed", "5").exit_code == 0
    assert _poison(url) == 24
    for flag, name in (("--json", "r.json"), ("--pdf", "r.pdf"), (None, "r.html")):
        out = tmp_path / name
        args = ["--db", url, "report", "--out", str(out), *([flag] if flag else [])]
        result = bontrack(*args)
        assert result.exit_code == 0, (name, result.output, result.exception)
        assert out.stat().st_size > 1000
    data = json.loads((tmp_path / "r.json").read_text())
    assert json.dumps(data, allow_nan=False)  # plain JSON: no NaN from a date it could not place
    flagged = [c for c in data["caveats"] if "outside 1900 to 2100" in c]
    assert flagged and "taken as 1900-01-01 or 2100-12-31" in flagged[0], data["caveats"]


def test_report_command__a_date_outside_1900_2100_exits_2_naming_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = bontrack(
        "--db", url, "report", "--json", "--out", str(tmp_path / "r.json"), "--date", "9999-12-31"
    )
    assert result.exit_code == 2
    assert "--date" in result.stderr and "1900-01-01" in result.stderr
