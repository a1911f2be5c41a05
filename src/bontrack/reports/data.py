"""Cohort data for analysis: the current version of every record, as data frames.

One query per record type, one audit entry per type read (a report reads the whole cohort; an
entry per row would bury the audit log). Withdrawn records are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bontrack.audit.service import log
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.records import VersionedRow


@dataclass(frozen=True)
class CohortFrames:
    """Frames in the shapes the analytics expect (see analytics.cycles)."""

    patients: pd.DataFrame
    sessions: pd.DataFrame
    measurements: pd.DataFrame
    adverse_events: pd.DataFrame


def _current(
    db: Session, row_cls: type[VersionedRow], clinic_id: str | None, fields: dict[str, Any]
) -> pd.DataFrame:
    """The current, non-withdrawn version of every record: ``id`` and the named JSON fields.

    Fields are extracted by the database (JSON path expressions on SQLite and PostgreSQL), so a
    large registry is not decoded whole in Python.
    """
    newest = (
        select(row_cls.id.label("rid"), func.max(row_cls.version).label("v")).group_by(row_cls.id).subquery()
    )
    columns = [row_cls.id.label("id"), *(expr.label(name) for name, expr in fields.items())]
    query = (
        select(*columns)
        .join(newest, and_(row_cls.id == newest.c.rid, row_cls.version == newest.c.v))
        .where(row_cls.withdrawn.is_(False))
    )
    if clinic_id is not None:
        query = query.where(row_cls.clinic_id == clinic_id)
    result = db.execute(query.order_by(row_cls.id))
    return pd.DataFrame(result.all(), columns=["id", *fields])


def cohort_frames(
    *, db: Session, actor: str, clinic_id: str | None = None, purpose: str = "report"
) -> CohortFrames:
    """Every current patient, session, scored outcome and adverse event (optionally of one clinic)."""
    read: dict[str, int] = {}

    def current(row_cls: type[VersionedRow], **fields: Any) -> pd.DataFrame:
        frame = _current(db, row_cls, clinic_id, fields)
        read[row_cls.record_type] = len(frame)
        return frame

    patients = current(
        PatientRow,
        record_number=PatientRow.data["record_number"].as_string(),
        sex=PatientRow.data["sex"].as_string(),
        birth_date=PatientRow.data["birth_date"].as_string(),
    ).rename(columns={"id": "patient_id"})
    sessions = current(
        InjectionSessionRow,
        patient_id=InjectionSessionRow.data["patient_id"].as_string(),
        date=InjectionSessionRow.data["date"].as_string(),
        product=InjectionSessionRow.data["product"].as_string(),
        total_units=InjectionSessionRow.data["total_units"].as_float(),
        physical_therapy=InjectionSessionRow.data["physical_therapy"].as_boolean(),
        decision=InjectionSessionRow.data["decision"]["decision"].as_string(),
        override=InjectionSessionRow.data["override"],
    ).rename(columns={"id": "session_id"})
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
    sessions["physical_therapy"] = sessions["physical_therapy"].astype(bool)
    sessions["override"] = sessions["override"].notna()
    outcomes = current(
        OutcomeRow,
        patient_id=OutcomeRow.data["patient_id"].as_string(),
        session_id=OutcomeRow.data["session_id"].as_string(),
        weeks_after_session=OutcomeRow.data["weeks_after_session"].as_float(),
        date=OutcomeRow.data["date"].as_string(),
        instrument=OutcomeRow.data["instrument"].as_string(),
        scores=OutcomeRow.data["scoring"]["scores"],
    )
    scores = outcomes["scores"].map(lambda d: d if isinstance(d, dict) else {})
    long = outcomes.drop(columns=["id", "scores"]).assign(scores=scores.map(lambda d: list(d.items())))
    long = long.explode("scores").dropna(subset=["scores"])
    measurements = pd.DataFrame(
        {
            "patient_id": long["patient_id"],
            "session_id": long["session_id"],
            "weeks_after_session": long["weeks_after_session"],
            "date": pd.to_datetime(long["date"]),
            "instrument": long["instrument"],
            "score": long["scores"].map(lambda kv: kv[0]),
            "value": long["scores"].map(lambda kv: kv[1]),
        }
    )
    measurements = measurements.dropna(subset=["value"]).reset_index(drop=True)
    measurements["value"] = measurements["value"].astype(float)
    events = current(
        AdverseEventRow,
        session_id=AdverseEventRow.data["session_id"].as_string(),
        event=AdverseEventRow.data["event"].as_string(),
        severity=AdverseEventRow.data["severity"].as_string(),
        serious=AdverseEventRow.data["serious"].as_boolean(),
    )[["session_id", "event", "severity", "serious"]]
    events["serious"] = events["serious"].fillna(False).astype(bool)
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
