"""Therapy services."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bontrack.errors import InputError
from bontrack.patients.service import born_by, episode_of, get_clinician, not_the_patients
from bontrack.repository import Repository
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT
from bontrack.therapy.models import TherapyPlanRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyPlanRead, TherapyVisitCreate, TherapyVisitRead

_THERAPY_PLAN = Repository.of(THERAPY_PLAN)
_THERAPY_VISIT = Repository.of(THERAPY_VISIT)


def _check_plan(*, db: Session, actor: str, data: TherapyPlanCreate) -> str:
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    get_clinician(
        db=db, actor=actor, clinician_id=data.therapist_id, clinic_id=episode.clinic_id, field="therapist_id"
    )
    born_by(db=db, actor=actor, patient_id=data.patient_id, start_date=data.start_date)
    return episode.clinic_id


def create_plan(*, db: Session, actor: str, data: TherapyPlanCreate) -> TherapyPlanRead:
    """Record a physical-therapy plan for an episode."""
    clinic_id = _check_plan(db=db, actor=actor, data=data)
    return _THERAPY_PLAN.create(db, actor, data, clinic_id)


def update_plan(
    *, db: Session, actor: str, plan_id: str, data: TherapyPlanCreate, reason: str
) -> TherapyPlanRead:
    """Correct a therapy plan (a new version), checked as when it was recorded; its start date
    cannot move after a visit already recorded for it."""

    def check(_current: TherapyPlanRow) -> None:
        _check_plan(db=db, actor=actor, data=data)
        visits = visits_of_plan(db=db, actor=actor, plan_id=plan_id)
        if visits and visits[0].data.date < data.start_date:
            raise InputError.one(
                "start_date", f"is after the plan's first recorded visit on {visits[0].data.date}"
            )

    return _THERAPY_PLAN.update(db, actor, plan_id, data, reason, check=check)


def withdraw_plan(*, db: Session, actor: str, plan_id: str, reason: str) -> TherapyPlanRead:
    """Mark a therapy plan withdrawn; refused while current visits of the plan remain."""
    return _THERAPY_PLAN.withdraw(db, actor, plan_id, reason)


def plan_history(*, db: Session, actor: str, plan_id: str) -> list[TherapyPlanRead]:
    """Every version of a therapy plan, oldest first."""
    return _THERAPY_PLAN.history(db, actor, plan_id)


def get_plan(*, db: Session, actor: str, plan_id: str, field: str = "plan_id") -> TherapyPlanRead:
    """The current version of a therapy plan."""
    return _THERAPY_PLAN.get(db, actor, plan_id, field=field)


def plans_of_episode(*, db: Session, actor: str, episode_id: str) -> list[TherapyPlanRead]:
    """Current therapy plans of an episode."""
    return _THERAPY_PLAN.current(db, actor, episode_id=episode_id)


def plan_active_on(*, db: Session, actor: str, episode_id: str, on: date) -> bool:
    """Is physical therapy planned in this episode around the given date (started, not ended)?"""
    for plan in plans_of_episode(db=db, actor=actor, episode_id=episode_id):
        end = plan.data.start_date.toordinal() + 7 * plan.data.weeks
        # A plan that starts after the session still counts: therapy begins once the toxin acts.
        if on.toordinal() <= end:
            return True
    return False


def _check_visit(*, db: Session, actor: str, data: TherapyVisitCreate) -> str:
    plan = get_plan(db=db, actor=actor, plan_id=data.plan_id)
    if plan.data.patient_id != data.patient_id:  # first: nothing else may tell the plan exists
        raise not_the_patients(
            db,
            field="plan_id",
            record_type="therapy_plan",
            record_id=data.plan_id,
            clinic_id=plan.clinic_id,
            patient_id=data.patient_id,
        )
    get_clinician(
        db=db, actor=actor, clinician_id=data.therapist_id, clinic_id=plan.clinic_id, field="therapist_id"
    )
    if data.date < plan.data.start_date:
        raise InputError.one("date", f"is before the plan's start date {plan.data.start_date}")
    born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)
    return plan.clinic_id


def record_visit(*, db: Session, actor: str, data: TherapyVisitCreate) -> TherapyVisitRead:
    """Record a physical-therapy visit (attended or missed)."""
    clinic_id = _check_visit(db=db, actor=actor, data=data)
    return _THERAPY_VISIT.create(db, actor, data, clinic_id)


def update_visit(
    *, db: Session, actor: str, visit_id: str, data: TherapyVisitCreate, reason: str
) -> TherapyVisitRead:
    """Correct a therapy visit (a new version), checked as when it was recorded."""
    return _THERAPY_VISIT.update(
        db, actor, visit_id, data, reason, check=lambda _current: _check_visit(db=db, actor=actor, data=data)
    )


def withdraw_visit(*, db: Session, actor: str, visit_id: str, reason: str) -> TherapyVisitRead:
    """Mark a therapy visit withdrawn."""
    return _THERAPY_VISIT.withdraw(db, actor, visit_id, reason)


def get_visit(*, db: Session, actor: str, visit_id: str, field: str = "visit_id") -> TherapyVisitRead:
    """The current version of a therapy visit."""
    return _THERAPY_VISIT.get(db, actor, visit_id, field=field)


def visit_history(*, db: Session, actor: str, visit_id: str) -> list[TherapyVisitRead]:
    """Every version of a therapy visit, oldest first."""
    return _THERAPY_VISIT.history(db, actor, visit_id)


def visits_of_plan(*, db: Session, actor: str, plan_id: str) -> list[TherapyVisitRead]:
    """Current visits recorded for a plan, by date."""
    return sorted(_THERAPY_VISIT.current(db, actor, plan_id=plan_id), key=lambda v: v.data.date)


def plans_of_patient(*, db: Session, actor: str, patient_id: str) -> list[TherapyPlanRead]:
    """Current therapy plans of a patient, by start date."""
    return _THERAPY_PLAN.of_patient(db, actor, patient_id)


def visits_of_patient(*, db: Session, actor: str, patient_id: str) -> list[TherapyVisitRead]:
    """Current therapy visits of a patient, by date."""
    return _THERAPY_VISIT.of_patient(db, actor, patient_id)
