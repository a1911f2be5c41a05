"""One clinic's records written through the real services, for the tests of the clinic keys: a
clinic, a physician, a patient screened and examined, an injection session, two outcomes (one
corrected, one withdrawn), and a log-in's audit entry of no clinic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bontrack.outcomes import service as outcomes
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.storage.audit_log import log
from factories import ACTOR, DAY, World, clinic_world, saved_session


@dataclass
class Story:
    world: World
    session_id: str
    outcome_id: str  # corrected: version 2 holds answer 4
    withdrawn_id: str


def outcome_input(world: World, session_id: str, answer: int, weeks: int) -> OutcomeCreate:
    return OutcomeCreate(
        patient_id=world.patient_id,
        episode_id=world.episode_id,
        instrument="nprs",
        date=DAY + dt.timedelta(weeks=weeks),
        answers={"1": answer},
        session_id=session_id,
        weeks_after_session=weeks,
    )


def clinic_story(db: Session, record_number: str) -> Story:
    world = clinic_world(db, record_number=record_number)
    session = saved_session(db, world)
    first = outcomes.record_outcome(db=db, actor=ACTOR, data=outcome_input(world, session.id, 6, 6))
    outcomes.update_outcome(
        db=db,
        actor=ACTOR,
        outcome_id=first.id,
        data=outcome_input(world, session.id, 4, 6),
        reason="typed the wrong score",
    )
    second = outcomes.record_outcome(db=db, actor=ACTOR, data=outcome_input(world, session.id, 5, 12))
    outcomes.withdraw_outcome(db=db, actor=ACTOR, outcome_id=second.id, reason="entered twice")
    log(db, actor=ACTOR, action="login", detail="an entry of no clinic")
    return Story(world, session.id, first.id, second.id)
