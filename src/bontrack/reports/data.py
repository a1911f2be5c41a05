"""Cohort data for analysis: the current version of every record, as data frames.

One query per record type, one audit entry per type read (a report reads the whole cohort; an
entry per row would bury the audit log). Withdrawn records are left out.

The database picks the fields out of each record's JSON (``json_extract`` on SQLite, ``#>>`` on
PostgreSQL), so a 100,000-patient registry is not decoded whole in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from bontrack.audit.service import log
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.records import VersionedRow

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


@dataclass(frozen=True)
class CohortFrames:
    """Frames in the shapes the analytics expect (see analytics.cycles)."""

    patients: pd.DataFrame
    sessions: pd.DataFrame
    measurements: pd.DataFrame
    adverse_events: pd.DataFrame


def _field(db: Session, row_cls: type[VersionedRow], path: str) -> Any:
    """A SQL expression for the plain value at a dotted ``path`` of the row's JSON (no decoding
    in Python: SQLite's ``json_extract`` gives text, numbers and null; PostgreSQL's ``#>>`` text)."""
    if db.get_bind().dialect.name == "sqlite":
        return func.json_extract(row_cls.data, f"$.{path}")
    return row_cls.data[tuple(path.split("."))].as_string()


def _current(
    db: Session, row_cls: type[VersionedRow], clinic_id: str | None, paths: Sequence[str]
) -> pd.DataFrame:
    """The current, non-withdrawn version of every record: ``id`` and the fields at ``paths``."""
    newer = aliased(row_cls)
    query = select(row_cls.id, *(_field(db, row_cls, p) for p in paths)).where(
        row_cls.withdrawn.is_(False),
        ~exists().where(and_(newer.id == row_cls.id, newer.version > row_cls.version)),
    )
    if clinic_id is not None:
        query = query.where(row_cls.clinic_id == clinic_id)
    rows = db.connection().execute(query.order_by(row_cls.id)).all()  # Core rows: no ORM overhead
    names = ["id", *paths]
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    return pd.DataFrame(dict(zip(names, (list(col) for col in zip(*rows, strict=True)), strict=True)))


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def _flag(series: pd.Series) -> pd.Series:
    """JSON booleans: 1/0 from SQLite, 'true'/'false' from PostgreSQL."""
    return series.map(lambda v: v in (1, True, "true")).astype(bool)


def cohort_frames(
    *,
    db: Session,
    actor: str,
    clinic_id: str | None = None,
    purpose: str = "report",
    scores: Sequence[str] = REPORT_SCORES,
) -> CohortFrames:
    """Every current patient, session, scored outcome and adverse event (optionally of one clinic)."""
    read: dict[str, int] = {}

    def current(row_cls: type[VersionedRow], *paths: str) -> pd.DataFrame:
        frame = _current(db, row_cls, clinic_id, paths)
        read[row_cls.record_type] = len(frame)
        return frame

    patients = current(PatientRow, "record_number", "sex", "birth_date").rename(columns={"id": "patient_id"})
    sessions = current(
        InjectionSessionRow,
        "patient_id",
        "date",
        "product",
        "total_units",
        "physical_therapy",
        "decision.decision",
        "override",
    ).rename(columns={"id": "session_id", "decision.decision": "decision"})
    sessions = sessions[
        [
            "patient_id",
            "session_id",
            "date",
            "product",
            "total_units",
            "physical_therapy",
            "decision",
            "override",
        ]
    ]
    sessions["date"] = pd.to_datetime(sessions["date"])
    sessions["total_units"] = _number(sessions["total_units"])
    sessions["physical_therapy"] = _flag(sessions["physical_therapy"])
    sessions["override"] = sessions["override"].notna()

    score_paths = [f"scoring.scores.{name}" for name in scores]
    outcomes = current(
        OutcomeRow, "patient_id", "session_id", "weeks_after_session", "date", "instrument", *score_paths
    )
    wide = outcomes.rename(columns=dict(zip(score_paths, scores, strict=True)))
    measurements = wide.melt(
        id_vars=["patient_id", "session_id", "weeks_after_session", "date", "instrument"],
        value_vars=list(scores),
        var_name="score",
        value_name="value",
    ).dropna(subset=["value"])
    measurements = measurements.assign(
        patient_id=measurements["patient_id"].astype(object),
        session_id=measurements["session_id"].astype(object),
        date=pd.to_datetime(measurements["date"]),
        weeks_after_session=_number(measurements["weeks_after_session"]),
        value=_number(measurements["value"]),
        instrument=measurements["instrument"].astype("category"),
        score=measurements["score"].astype("category"),
    ).reset_index(drop=True)

    events = current(AdverseEventRow, "session_id", "event", "severity", "serious")
    events = events[["session_id", "event", "severity", "serious"]]
    events["serious"] = _flag(events["serious"])
    for record_type, n in read.items():
        log(
            db,
            actor=actor,
            action="read",
            record_type=record_type,
            clinic_id=clinic_id,
            detail=f"{purpose}: {n} current records",
        )
    return CohortFrames(patients, sessions, measurements, events)
