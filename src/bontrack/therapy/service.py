"""Therapy services."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bontrack.errors import ConflictError, InputError
from bontrack.injections.authority import clinician_in_role
from bontrack.knowledge import load_knowledge
from bontrack.patients.service import born_by, episode_of, not_the_patients
from bontrack.repository import Repository
from bontrack.roles import role_words
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT
from bontrack.therapy.models import TherapyPlanRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyPlanRead, TherapyVisitCreate, TherapyVisitRead

_THERAPY_PLAN = Repository.of(THERAPY_PLAN)
_THERAPY_VISIT = Repository.of(THERAPY_VISIT)


def _check_therapist(*, db: Session, actor: str, therapist_id: str, clinic_id: str) -> None:
    """The therapist is a clinician of the clinic whose role may deliver physical therapy
    (knowledge: pathway.therapist_roles, a clinic policy)."""
    allowed = load_knowledge().files.pathway.therapist_roles.roles
    clinician_in_role(
        db=db,
        actor=actor,
        clinician_id=therapist_id,
        clinic_id=clinic_id,
        field="therapist_id",
        roles=allowed,
        task=f"physical therapy is delivered by a {' or a '.join(role_words(r) for r in allowed)}: "
        "choose the therapist",
    )


def _last_day(plan: TherapyPlanCreate) -> date:
    """The last day of a plan's period (its weeks from the start date)."""
    return date.fromordinal(min(plan.start_date.toordinal() + 7 * plan.weeks - 1, date.max.toordinal()))


def _check_no_overlap(*, db: Session, actor: str, data: TherapyPlanCreate, plan_id: str | None) -> None:
    """One current plan covers a patient's day: a plan whose period overlaps another current plan
    of the patient is refused, naming that plan (a plan holds several goals and exercises, so a
    second goal is a correction of the plan, not a second plan; visits and the worklist follow one
    plan at a time)."""
    end = _last_day(data)
    for other in plans_of_patient(db=db, actor=actor, patient_id=data.patient_id):
        if other.id == plan_id or other.data.start_date > end or _last_day(other.data) < data.start_date:
            continue
        raise ConflictError.one(
            "start_date",
            f"the period {data.start_date} to {end} overlaps the patient's therapy plan of "
            f"{other.data.start_date} to {_last_day(other.data)} ({other.data.weeks} weeks, "
            f"{other.data.visits_per_week} a week); one plan covers a period: "
            "correct that plan (its weeks, visits, goals or exercises) instead of recording another",
        )


def _check_plan(*, db: Session, actor: str, data: TherapyPlanCreate, plan_id: str | None = None) -> str:
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    _check_therapist(db=db, actor=actor, therapist_id=data.therapist_id, clinic_id=episode.clinic_id)
    born_by(db=db, actor=actor, patient_id=data.patient_id, start_date=data.start_date)
    _check_no_overlap(db=db, actor=actor, data=data, plan_id=plan_id)
    return episode.clinic_id


def create_plan(*, db: Session, actor: str, data: TherapyPlanCreate) -> TherapyPlanRead:
    """Record a physical-therapy plan for an episode; refused if it overlaps a current plan."""
    clinic_id = _check_plan(db=db, actor=actor, data=data)
    return _THERAPY_PLAN.create(db, actor, data, clinic_id)


def update_plan(
    *, db: Session, actor: str, plan_id: str, data: TherapyPlanCreate, reason: str
) -> TherapyPlanRead:
    """Correct a therapy plan (a new version), checked as when it was recorded; its start date
    cannot move after a visit already recorded for it."""

    def check(_current: TherapyPlanRow) -> None:
        _check_plan(db=db, actor=actor, data=data, plan_id=plan_id)
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


def _check_visit(*, db: Session, actor: str, data: TherapyVisitCreate, visit_id: str | None = None) -> str:
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
    _check_therapist(db=db, actor=actor, therapist_id=data.therapist_id, clinic_id=plan.clinic_id)
    if data.date < plan.data.start_date:
        raise InputError.one("date", f"is before the plan's start date {plan.data.start_date}")
    born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)
    # a plan has at most one visit a day (visits_per_week is at most 7): a second is a duplicate
    same = next(
        (
            v
            for v in visits_of_plan(db=db, actor=actor, plan_id=data.plan_id)
            if v.data.date == data.date and v.id != visit_id
        ),
        None,
    )
    if same is not None:
        raise ConflictError.one(
            "date",
            f"a visit of this plan on {data.date} is already recorded "
            f"({'attended' if same.data.attended else 'missed'}): correct that visit "
            "instead of recording another",
        )
    return plan.clinic_id


def record_visit(*, db: Session, actor: str, data: TherapyVisitCreate) -> TherapyVisitRead:
    """Record a physical-therapy visit (attended or missed); a second visit of the plan on the same
    day is refused."""
    clinic_id = _check_visit(db=db, actor=actor, data=data)
    return _THERAPY_VISIT.create(db, actor, data, clinic_id)


def visit_warnings(*, db: Session, actor: str, visit_id: str) -> list[str]:
    """What a person should know about a visit just saved: one beyond the plan's planned number
    ("visit 3 of a 2-visit plan") is kept, and said so."""
    visit = get_visit(db=db, actor=actor, visit_id=visit_id)
    plan = get_plan(db=db, actor=actor, plan_id=visit.data.plan_id)
    planned = plan.data.weeks * plan.data.visits_per_week
    order = [v.id for v in visits_of_plan(db=db, actor=actor, plan_id=plan.id)]
    number = order.index(visit.id) + 1 if visit.id in order else len(order)
    if number <= planned:
        return []
    return [
        f"Visit {number} of a {planned}-visit plan (from {plan.data.start_date}, {plan.data.weeks} "
        f"week{'s' if plan.data.weeks != 1 else ''}, {plan.data.visits_per_week} a week): saved, beyond "
        "the plan; if the plan changed, correct its weeks or visits per week, or record a new plan "
        "after it ends."
    ]


def update_visit(
    *, db: Session, actor: str, visit_id: str, data: TherapyVisitCreate, reason: str
) -> TherapyVisitRead:
    """Correct a therapy visit (a new version), checked as when it was recorded."""
    return _THERAPY_VISIT.update(
        db,
        actor,
        visit_id,
        data,
        reason,
        check=lambda _current: _check_visit(db=db, actor=actor, data=data, visit_id=visit_id),
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
