"""Cohort data for the report: the current version of every record, as data frames.

One query per record type (bontrack.queries), one audit entry per type read (a report reads the
whole cohort; an entry per row would bury the audit log). Withdrawn records are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import (
    OUTCOME_PATHS,
    audit_reads,
    current_frame,
    dates_series,
    flag_series,
    measurements_frame,
    number_series,
)
from bontrack.records import VersionedRow
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


SESSION_PATHS = (
    "patient_id",
    "date",
    "product",
    "total_units",
    "physical_therapy",
    "decision.decision",
    "override",
    "vial_units",
    "vial_count",
)


def sessions_frame(read: pd.DataFrame) -> pd.DataFrame:
    """Sessions read at ``SESSION_PATHS`` (plus any row columns) in the analytics' shape."""
    sessions = read.rename(columns={"id": "session_id", "decision.decision": "decision"})
    keep = ["patient_id", "session_id", "date", "product", "total_units", "physical_therapy", "decision"]
    sessions = sessions[[*keep, "override", *(c for c in sessions.columns if c not in {*keep, "override"})]]
    sessions["date"] = dates_series(sessions["date"])
    sessions["total_units"] = number_series(sessions["total_units"])
    sessions["physical_therapy"] = flag_series(sessions["physical_therapy"])
    sessions["override"] = sessions["override"].notna()
    return sessions


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
        frame = current_frame(db, row_cls, clinic_id, paths)
        read[row_cls.record_type] = len(frame)
        return frame

    patients = current(PatientRow, "record_number", "sex", "birth_date").rename(columns={"id": "patient_id"})
    sessions = sessions_frame(current(InjectionSessionRow, *SESSION_PATHS))
    score_paths = [f"scoring.scores.{name}" for name in scores]
    measurements = measurements_frame(current(OutcomeRow, *OUTCOME_PATHS, *score_paths), scores)
    events = current(AdverseEventRow, "session_id", "event", "severity", "serious", "reported_date")
    events = events[["session_id", "event", "severity", "serious", "reported_date"]]
    events["serious"] = flag_series(events["serious"])
    events["reported_date"] = dates_series(events["reported_date"])
    stock = stock_frame(
        current(StockReceiptRow, "received_on", "product", "vial_units", "vial_count"),
        current(VialDiscardRow, "discarded_on", "product", "units"),
    )
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read=read)
    return CohortFrames(patients, sessions, measurements, events, stock)


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
