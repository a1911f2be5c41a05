"""Cohort data for the report: the current version of every record, as data frames.

One query per record type (bontrack.queries), one audit entry per type read (a report reads the
whole cohort; an entry per row would bury the audit log). Withdrawn records are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.kinds import KINDS
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads, number_series
from bontrack.records import VersionedRow
from bontrack.reports.columnar import Field, Kind, read_current, read_parquet, to_frame
from bontrack.stock.models import StockReceiptRow, VialDiscardRow

# The scores the report analyses, by name inside an outcome's ``scoring.scores``.
REPORT_SCORES = (
    "pain_intensity",
    "total",
    "physical_functioning",
    "role_physical",
    "pain",
    "general_health",
    "energy_fatigue",
    "social_functioning",
    "role_emotional",
    "emotional_wellbeing",
)


STOCK_COLUMNS = ["date", "product", "kind", "units"]


@dataclass(frozen=True)
class CohortFrames:
    """Frames in the shapes the analytics expect (see analytics.cycles)."""

    patients: pd.DataFrame
    sessions: pd.DataFrame
    measurements: pd.DataFrame
    adverse_events: pd.DataFrame
    # vials received and discarded unopened: date, product, kind (received|discarded), units
    stock: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STOCK_COLUMNS))


def _fields(*specs: tuple[str, str, Kind] | str) -> list[Field]:
    return [Field(s, s) if isinstance(s, str) else Field(*s) for s in specs]


PATIENT_FIELDS = _fields("record_number", "sex", "birth_date")
SESSION_FIELDS = _fields(
    "patient_id",
    ("date", "date", "date"),
    "product",
    ("total_units", "total_units", "number"),
    ("physical_therapy", "physical_therapy", "flag"),
    ("decision", "decision.decision", "text"),
    ("override", "override", "present"),
    ("vial_units", "vial_units", "number"),
    ("vial_count", "vial_count", "number"),
)
OUTCOME_FIELDS = _fields(
    "patient_id",
    "session_id",
    ("weeks_after_session", "weeks_after_session", "number"),
    ("date", "date", "date"),
    "instrument",
)
EVENT_FIELDS = _fields(
    "session_id",
    "event",
    "severity",
    ("serious", "serious", "flag"),
    ("reported_date", "reported_date", "date"),
)
RECEIPT_FIELDS = _fields(
    "received_on", "product", ("vial_units", "vial_units", "number"), ("vial_count", "vial_count", "number")
)
DISCARD_FIELDS = _fields("discarded_on", "product", ("units", "units", "number"))

# a record type's Parquet file (the export names its files by kind)
KIND_FILES = {k.row.record_type: k.name for k in KINDS}
Reader = Callable[[type[VersionedRow], Sequence[Field]], pa.Table]


def cohort_frames(
    *,
    db: Session,
    actor: str,
    clinic_id: str | None = None,
    purpose: str = "report",
    scores: Sequence[str] = REPORT_SCORES,
    committed: bool = False,
) -> CohortFrames:
    """Every current patient, session, scored outcome and adverse event (optionally of one
    clinic), read in bulk through DuckDB (reports.columnar); one audit entry per type read.
    ``committed``: this transaction has written nothing yet (reports.columnar.read_current)."""
    read: dict[str, int] = {}
    duck = duckdb.connect()

    def reader(row_cls: type[VersionedRow], fields: Sequence[Field]) -> pa.Table:
        table = read_current(db, row_cls, clinic_id, fields, duck=duck, committed=committed)
        read[row_cls.record_type] = table.num_rows
        return table

    frames = _assemble(reader, duck, scores)
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read=read)
    return frames


# the record types the report reads from a Parquet export (``parquet_frames``), in that order
PARQUET_ROWS: tuple[type[VersionedRow], ...] = (
    PatientRow,
    InjectionSessionRow,
    OutcomeRow,
    AdverseEventRow,
    StockReceiptRow,
    VialDiscardRow,
)


def parquet_files() -> list[str]:
    """The files of a Parquet export folder the report reads."""
    return [f"{KIND_FILES[row.record_type]}.parquet" for row in PARQUET_ROWS]


def parquet_frames(
    folder: Path, *, clinic_id: str | None = None, scores: Sequence[str] = REPORT_SCORES
) -> CohortFrames:
    """``cohort_frames`` from a Parquet export folder (``bontrack export --format parquet``):
    the same rows, so the same report. Files, not the registry: nothing is audited here (the
    export was)."""
    duck = duckdb.connect()

    def reader(row_cls: type[VersionedRow], fields: Sequence[Field]) -> pa.Table:
        return read_parquet(folder, KIND_FILES[row_cls.record_type], clinic_id, fields, duck=duck)

    return _assemble(reader, duck, scores)


def _assemble(reader: Reader, duck: duckdb.DuckDBPyConnection, scores: Sequence[str]) -> CohortFrames:
    patients = to_frame(reader(PatientRow, PATIENT_FIELDS)).rename(columns={"id": "patient_id"})
    sessions = to_frame(reader(InjectionSessionRow, SESSION_FIELDS)).rename(columns={"id": "session_id"})
    names = [f.name for f in SESSION_FIELDS]
    sessions = sessions[[names[0], "session_id", *names[1:]]]
    score_fields = [Field(f"score_{i}", f"scoring.scores.{name}") for i, name in enumerate(scores)]
    outcomes = reader(OutcomeRow, [*OUTCOME_FIELDS, *score_fields])
    measurements = _measurements(duck, outcomes, scores)
    events = to_frame(reader(AdverseEventRow, EVENT_FIELDS)).drop(columns=["id"])
    stock = stock_frame(
        to_frame(reader(StockReceiptRow, RECEIPT_FIELDS)), to_frame(reader(VialDiscardRow, DISCARD_FIELDS))
    )
    return CohortFrames(patients, sessions, measurements, events, stock)


def _measurements(duck: duckdb.DuckDBPyConnection, outcomes: pa.Table, scores: Sequence[str]) -> pd.DataFrame:
    """One row per score of each outcome (as ``queries.measurements_frame``: score by score, in
    the outcomes' order; a score missing or null is left out, one that is not a number is NaN):
    the outcomes made a frame once, then taken row by row for each score."""
    keep = [f.name for f in OUTCOME_FIELDS]
    names = [f"score_{i}" for i in range(len(scores))]
    duck.register("outcomes", outcomes)
    # DuckDB keeps the rows' order in a plain projection
    numbers = duck.sql(
        f"select {', '.join(f'try_cast({n} as double) as {n}' for n in names)} from outcomes"
    ).to_arrow_table()
    duck.unregister("outcomes")
    rows, values, which = [], [], []
    for i, name in enumerate(names):
        present = np.flatnonzero(pc.is_valid(outcomes.column(name)).to_numpy(zero_copy_only=False))
        rows.append(present)
        values.append(numbers.column(name).to_numpy()[present])
        which.append(np.full(len(present), i))
    frame = to_frame(outcomes.select(keep)).take(np.concatenate(rows)).reset_index(drop=True)
    frame["score"] = pd.Series(np.asarray(scores, dtype=object)[np.concatenate(which)], dtype=object)
    frame["value"] = np.concatenate(values).astype(float)
    frame["instrument"] = frame["instrument"].astype("category")
    frame["score"] = frame["score"].astype("category")
    return frame


def stock_frame(received: pd.DataFrame, discarded: pd.DataFrame) -> pd.DataFrame:
    """Deliveries and unopened discards as rows of (date, product, kind, units)."""
    bought = pd.DataFrame(
        {
            "date": received["received_on"],
            "product": received["product"],
            "kind": "received",
            "units": number_series(received["vial_units"]) * number_series(received["vial_count"]),
        }
    )
    thrown = pd.DataFrame(
        {
            "date": discarded["discarded_on"],
            "product": discarded["product"],
            "kind": "discarded",
            "units": number_series(discarded["units"]),
        }
    )
    parts = [f for f in (bought, thrown) if len(f)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=STOCK_COLUMNS)
