"""Assessment services."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bontrack.assessments.kind import ASSESSMENT
from bontrack.assessments.schemas import AssessmentCreate, AssessmentRead
from bontrack.errors import InputError
from bontrack.patients.service import born_by, episode_of, get_clinician
from bontrack.repository import Repository
from bontrack.schemas import muscle_side_errors

_ASSESSMENT = Repository.of(ASSESSMENT)


def _check(*, db: Session, actor: str, data: AssessmentCreate) -> str:
    errors = []
    for i, tp in enumerate(data.trigger_points):
        errors += muscle_side_errors(f"trigger_points[{i}]", tp.muscle, tp.side)
    for i, ppt in enumerate(data.pressure_pain_thresholds):
        errors += muscle_side_errors(f"pressure_pain_thresholds[{i}]", ppt.muscle, ppt.side)
    if errors:
        raise InputError(errors)
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    get_clinician(
        db=db, actor=actor, clinician_id=data.assessor_id, clinic_id=episode.clinic_id, field="assessor_id"
    )
    born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)
    return episode.clinic_id


def create_assessment(*, db: Session, actor: str, data: AssessmentCreate) -> AssessmentRead:
    """Record an examination of a patient's neck and shoulder muscles."""
    clinic_id = _check(db=db, actor=actor, data=data)
    return _ASSESSMENT.create(db, actor, data, clinic_id)


def update_assessment(
    *, db: Session, actor: str, assessment_id: str, data: AssessmentCreate, reason: str
) -> AssessmentRead:
    """Correct an assessment (a new version), checked as when it was recorded."""
    return _ASSESSMENT.update(
        db, actor, assessment_id, data, reason, check=lambda _current: _check(db=db, actor=actor, data=data)
    )


def withdraw_assessment(*, db: Session, actor: str, assessment_id: str, reason: str) -> AssessmentRead:
    """Mark an assessment withdrawn (sessions already saved keep the decision they were saved with)."""
    return _ASSESSMENT.withdraw(db, actor, assessment_id, reason)


def assessment_history(*, db: Session, actor: str, assessment_id: str) -> list[AssessmentRead]:
    """Every version of an assessment, oldest first."""
    return _ASSESSMENT.history(db, actor, assessment_id)


def latest_assessment(
    *, db: Session, actor: str, episode_id: str, on_or_before: date
) -> AssessmentRead | None:
    """The most recent assessment in an episode up to a date, or None."""
    current = _ASSESSMENT.current(db, actor, purpose="latest assessment", episode_id=episode_id)
    found = [a for a in current if a.data.date <= on_or_before]
    return max(found, key=lambda a: (a.data.date, a.recorded_at), default=None)


def get_assessment(
    *, db: Session, actor: str, assessment_id: str, field: str = "assessment_id"
) -> AssessmentRead:
    """The current version of an assessment."""
    return _ASSESSMENT.get(db, actor, assessment_id, field=field)


def assessments_of_patient(*, db: Session, actor: str, patient_id: str) -> list[AssessmentRead]:
    """Current assessments of a patient, by date."""
    return _ASSESSMENT.of_patient(db, actor, patient_id)
