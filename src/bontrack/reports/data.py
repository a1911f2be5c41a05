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
    db: Session, row_cls: type[VersionedRow], clinic_id: str | None
) -> list[tuple[str, dict[str, Any]]]:
    newest = (
        select(row_cls.id.label("rid"), func.max(row_cls.version).label("v")).group_by(row_cls.id).subquery()
    )
    query = (
        select(row_cls.id, row_cls.data)
        .join(newest, and_(row_cls.id == newest.c.rid, row_cls.version == newest.c.v))
        .where(row_cls.withdrawn.is_(False))
    )
    if clinic_id is not None:
        query = query.where(row_cls.clinic_id == clinic_id)
    return [(rid, data) for rid, data in db.execute(query.order_by(row_cls.id))]


def cohort_frames(
    *, db: Session, actor: str, clinic_id: str | None = None, purpose: str = "report"
) -> CohortFrames:
    """Every current patient, session, scored outcome and adverse event (optionally of one clinic)."""
    read: dict[str, int] = {}

    def current(row_cls: type[VersionedRow]) -> list[tuple[str, dict[str, Any]]]:
        rows = _current(db, row_cls, clinic_id)
        read[row_cls.record_type] = len(rows)
        return rows

    patients = pd.DataFrame(
        [
            {
                "patient_id": rid,
                "record_number": d["record_number"],
                "sex": d["sex"],
                "birth_date": d["birth_date"],
            }
            for rid, d in current(PatientRow)
        ],
        columns=["patient_id", "record_number", "sex", "birth_date"],
    )
    sessions = pd.DataFrame(
        [
            {
                "patient_id": d["patient_id"],
                "session_id": rid,
                "date": d["date"],
                "product": d["product"],
                "total_units": d["total_units"],
                "physical_therapy": d["physical_therapy"],
                "decision": d["decision"]["decision"],
                "override": d.get("override") is not None,
            }
            for rid, d in current(InjectionSessionRow)
        ],
        columns=[
            "patient_id",
            "session_id",
            "date",
            "product",
            "total_units",
            "physical_therapy",
            "decision",
            "override",
        ],
    )
    sessions["date"] = pd.to_datetime(sessions["date"])
    measurements = pd.DataFrame(
        [
            {
                "patient_id": d["patient_id"],
                "session_id": d.get("session_id"),
                "weeks_after_session": d.get("weeks_after_session"),
                "date": d["date"],
                "instrument": d["instrument"],
                "score": name,
                "value": value,
            }
            for _, d in current(OutcomeRow)
            for name, value in (d.get("scoring") or {}).get("scores", {}).items()
            if value is not None
        ],
        columns=["patient_id", "session_id", "weeks_after_session", "date", "instrument", "score", "value"],
    )
    measurements["date"] = pd.to_datetime(measurements["date"])
    events = pd.DataFrame(
        [
            {
                "session_id": d["session_id"],
                "event": d["event"],
                "severity": d["severity"],
                "serious": d.get("serious", False),
            }
            for _, d in current(AdverseEventRow)
        ],
        columns=["session_id", "event", "severity", "serious"],
    )
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
