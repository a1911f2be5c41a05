"""The cohort extract reads current records from a real registry and audits the read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from bontrack.analytics.cycles import ResponseRule, cycle_outcomes
from bontrack.audit.service import entries
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event, withdraw_session
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, clinic_world, saved_session

NPRS = ResponseRule("nprs", "pain_intensity", "lower", 2, 30, 50)


def test_cohort_frames__current_records_scores_and_one_audit_entry_per_type(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        record_outcome(
            db=db,
            actor=ACTOR,
            data=OutcomeCreate(
                patient_id=world.patient_id,
                episode_id=world.episode_id,
                instrument="nprs",
                date=DAY,
                answers={"1": 8},
            ),
        )
        s1 = saved_session(db, world)
        record_outcome(
            db=db,
            actor=ACTOR,
            data=OutcomeCreate(
                patient_id=world.patient_id,
                episode_id=world.episode_id,
                instrument="nprs",
                date=DAY + dt.timedelta(weeks=6),
                answers={"1": 4},
                session_id=s1.id,
                weeks_after_session=6,
            ),
        )
        report_adverse_event(
            db=db,
            actor=ACTOR,
            data=AdverseEventCreate(
                patient_id=world.patient_id,
                session_id=s1.id,
                event="dysphagia",
                onset_date=DAY + dt.timedelta(days=5),
                reported_date=DAY + dt.timedelta(days=14),
                severity="mild",
            ),
        )
        s2 = saved_session(db, world, day=DAY + dt.timedelta(days=100))
        withdraw_session(db=db, actor=ACTOR, session_id=s2.id, reason="entered for the wrong patient")
    with transaction(engine) as db:
        before = len(entries(db, action="read"))
        frames = cohort_frames(db=db, actor="test:researcher")
        after = len(entries(db, action="read"))
    assert list(frames.sessions["session_id"]) == [s1.id]  # the withdrawn session is left out
    assert len(frames.patients) == 1 and len(frames.adverse_events) == 1
    assert set(frames.measurements["value"]) == {8.0, 4.0}
    assert after - before == 6  # patients, sessions, outcomes, adverse events, stock receipts, discards
    rows = cycle_outcomes(frames.sessions, frames.measurements, NPRS)
    assert rows.loc[0, "improvement_percent"] == 50.0 and bool(rows.loc[0, "responder_substantial"])
