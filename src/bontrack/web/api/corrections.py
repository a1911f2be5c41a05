"""Correcting and withdrawing records, and reading their history, for every clinical record type.

``PUT /api/<collection>/{id}`` takes ``{"data": <the Create schema>, "reason": "..."}`` and saves a
new version; ``POST /api/<collection>/{id}/withdraw`` takes ``{"reason": "..."}`` and saves a
withdrawn version; ``GET /api/<collection>/{id}/history`` lists every version, oldest first. The
roles that may correct or withdraw a record are those that may create it; every role that reads
identified records may read histories (researchers may not). A record of another clinic is not
found (404), as on the reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from bontrack.assessments import service as assessments
from bontrack.assessments.schemas import AssessmentCreate, AssessmentRead
from bontrack.injections import service as injections
from bontrack.injections.schemas import AdverseEventCreate, AdverseEventRead, SessionCreate, SessionRead
from bontrack.outcomes import service as outcomes
from bontrack.outcomes.schemas import OutcomeCreate, OutcomeRead
from bontrack.patients import service as patients
from bontrack.patients.schemas import EpisodeCreate, EpisodeRead, PatientCreate, PatientRead
from bontrack.screening import service as screening
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyPlanRead, TherapyVisitCreate, TherapyVisitRead
from bontrack.web.api.common import AUTHENTICATED, ERRORS, RecordId
from bontrack.web.api.schemas import Correction, Withdrawal
from bontrack.web.deps import (
    READ_CLINICAL,
    WRITE_ADVERSE_EVENTS,
    WRITE_ASSESSMENTS,
    WRITE_EPISODES,
    WRITE_OUTCOMES,
    WRITE_PATIENTS,
    WRITE_SCREENINGS,
    WRITE_SESSIONS,
    WRITE_THERAPY,
    Principal,
    SessionDep,
    require,
    visible,
)
from bontrack.web.problems import Problem

router = APIRouter(prefix="/api", tags=["corrections"], dependencies=AUTHENTICATED, responses=ERRORS)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "content": {"application/problem+json": {}},
        "description": "withdrawal refused while current records refer to the record, "
        "or a corrected injection plan the engine blocks without a clinician override",
    }
}
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
PatientWriter = Annotated[Principal, Depends(require(WRITE_PATIENTS))]
EpisodeWriter = Annotated[Principal, Depends(require(WRITE_EPISODES))]
ScreeningWriter = Annotated[Principal, Depends(require(WRITE_SCREENINGS))]
AssessmentWriter = Annotated[Principal, Depends(require(WRITE_ASSESSMENTS))]
Injector = Annotated[Principal, Depends(require(WRITE_SESSIONS))]
AdverseEventWriter = Annotated[Principal, Depends(require(WRITE_ADVERSE_EVENTS))]
Therapist = Annotated[Principal, Depends(require(WRITE_THERAPY))]
OutcomeWriter = Annotated[Principal, Depends(require(WRITE_OUTCOMES))]


# ---- patient -----------------------------------------------------------------------------------


@router.put("/patients/{patient_id}", response_model=PatientRead, responses=WRITE_ERRORS)
def correct_patient(
    patient_id: RecordId, body: Correction[PatientCreate], db: SessionDep, principal: PatientWriter
) -> PatientRead:
    """Correct a patient: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = patients.get_patient(db=db, actor=principal.actor, patient_id=patient_id, field="id")
    visible(principal, found.clinic_id, "patient", patient_id)
    return patients.update_patient(
        db=db, actor=principal.actor, patient_id=patient_id, data=body.data, reason=body.reason
    )


@router.post("/patients/{patient_id}/withdraw", response_model=PatientRead, responses=WRITE_ERRORS)
def withdraw_patient(
    patient_id: RecordId, body: Withdrawal, db: SessionDep, principal: PatientWriter
) -> PatientRead:
    """Withdraw a patient (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = patients.get_patient(db=db, actor=principal.actor, patient_id=patient_id, field="id")
    visible(principal, found.clinic_id, "patient", patient_id)
    return patients.withdraw_patient(db=db, actor=principal.actor, patient_id=patient_id, reason=body.reason)


@router.get("/patients/{patient_id}/history", response_model=list[PatientRead])
def patient_history(patient_id: RecordId, db: SessionDep, principal: Reader) -> list[PatientRead]:
    """Every version of a patient, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = patients.patient_history(db=db, actor=principal.actor, patient_id=patient_id)
    visible(principal, versions[-1].clinic_id, "patient", patient_id)
    return versions


# ---- episode -----------------------------------------------------------------------------------


@router.put("/episodes/{episode_id}", response_model=EpisodeRead, responses=WRITE_ERRORS)
def correct_episode(
    episode_id: RecordId, body: Correction[EpisodeCreate], db: SessionDep, principal: EpisodeWriter
) -> EpisodeRead:
    """Correct an episode: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = patients.get_episode(db=db, actor=principal.actor, episode_id=episode_id, field="id")
    visible(principal, found.clinic_id, "episode", episode_id)
    return patients.update_episode(
        db=db, actor=principal.actor, episode_id=episode_id, data=body.data, reason=body.reason
    )


@router.post("/episodes/{episode_id}/withdraw", response_model=EpisodeRead, responses=WRITE_ERRORS)
def withdraw_episode(
    episode_id: RecordId, body: Withdrawal, db: SessionDep, principal: EpisodeWriter
) -> EpisodeRead:
    """Withdraw an episode (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = patients.get_episode(db=db, actor=principal.actor, episode_id=episode_id, field="id")
    visible(principal, found.clinic_id, "episode", episode_id)
    return patients.withdraw_episode(db=db, actor=principal.actor, episode_id=episode_id, reason=body.reason)


@router.get("/episodes/{episode_id}/history", response_model=list[EpisodeRead])
def episode_history(episode_id: RecordId, db: SessionDep, principal: Reader) -> list[EpisodeRead]:
    """Every version of an episode, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = patients.episode_history(db=db, actor=principal.actor, episode_id=episode_id)
    visible(principal, versions[-1].clinic_id, "episode", episode_id)
    return versions


# ---- screening ---------------------------------------------------------------------------------


@router.put("/screenings/{screening_id}", response_model=ScreeningRead, responses=WRITE_ERRORS)
def correct_screening(
    screening_id: RecordId, body: Correction[ScreeningCreate], db: SessionDep, principal: ScreeningWriter
) -> ScreeningRead:
    """Correct a screening: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = screening.get_screening(db=db, actor=principal.actor, screening_id=screening_id, field="id")
    visible(principal, found.clinic_id, "screening", screening_id)
    return screening.update_screening(
        db=db, actor=principal.actor, screening_id=screening_id, data=body.data, reason=body.reason
    )


@router.post("/screenings/{screening_id}/withdraw", response_model=ScreeningRead, responses=WRITE_ERRORS)
def withdraw_screening(
    screening_id: RecordId, body: Withdrawal, db: SessionDep, principal: ScreeningWriter
) -> ScreeningRead:
    """Withdraw a screening (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = screening.get_screening(db=db, actor=principal.actor, screening_id=screening_id, field="id")
    visible(principal, found.clinic_id, "screening", screening_id)
    return screening.withdraw_screening(
        db=db, actor=principal.actor, screening_id=screening_id, reason=body.reason
    )


@router.get("/screenings/{screening_id}/history", response_model=list[ScreeningRead])
def screening_history(screening_id: RecordId, db: SessionDep, principal: Reader) -> list[ScreeningRead]:
    """Every version of a screening, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = screening.screening_history(db=db, actor=principal.actor, screening_id=screening_id)
    visible(principal, versions[-1].clinic_id, "screening", screening_id)
    return versions


# ---- assessment --------------------------------------------------------------------------------


@router.put("/assessments/{assessment_id}", response_model=AssessmentRead, responses=WRITE_ERRORS)
def correct_assessment(
    assessment_id: RecordId, body: Correction[AssessmentCreate], db: SessionDep, principal: AssessmentWriter
) -> AssessmentRead:
    """Correct an assessment: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = assessments.get_assessment(db=db, actor=principal.actor, assessment_id=assessment_id, field="id")
    visible(principal, found.clinic_id, "assessment", assessment_id)
    return assessments.update_assessment(
        db=db, actor=principal.actor, assessment_id=assessment_id, data=body.data, reason=body.reason
    )


@router.post("/assessments/{assessment_id}/withdraw", response_model=AssessmentRead, responses=WRITE_ERRORS)
def withdraw_assessment(
    assessment_id: RecordId, body: Withdrawal, db: SessionDep, principal: AssessmentWriter
) -> AssessmentRead:
    """Withdraw an assessment (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = assessments.get_assessment(db=db, actor=principal.actor, assessment_id=assessment_id, field="id")
    visible(principal, found.clinic_id, "assessment", assessment_id)
    return assessments.withdraw_assessment(
        db=db, actor=principal.actor, assessment_id=assessment_id, reason=body.reason
    )


@router.get("/assessments/{assessment_id}/history", response_model=list[AssessmentRead])
def assessment_history(assessment_id: RecordId, db: SessionDep, principal: Reader) -> list[AssessmentRead]:
    """Every version of an assessment, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = assessments.assessment_history(db=db, actor=principal.actor, assessment_id=assessment_id)
    visible(principal, versions[-1].clinic_id, "assessment", assessment_id)
    return versions


# ---- injection session -------------------------------------------------------------------------


@router.put("/sessions/{session_id}", response_model=SessionRead, responses=WRITE_ERRORS)
def correct_session(
    session_id: RecordId, body: Correction[SessionCreate], db: SessionDep, principal: Injector
) -> SessionRead:
    """Correct an injection session: the whole record as corrected and the reason; saved as a new version,
    the earlier one stays in the history. The corrected plan is judged again by the decision engine
    (against the patient's other sessions); a blocked plan needs ``override`` with a clinician and the
    written reason, as when it was created (else 409 naming ``override``)."""
    found = injections.get_session(db=db, actor=principal.actor, session_id=session_id, field="id")
    visible(principal, found.clinic_id, "injection_session", session_id)
    return injections.update_session(
        db=db, actor=principal.actor, session_id=session_id, data=body.data, reason=body.reason
    )


@router.post("/sessions/{session_id}/withdraw", response_model=SessionRead, responses=WRITE_ERRORS)
def withdraw_session(
    session_id: RecordId, body: Withdrawal, db: SessionDep, principal: Injector
) -> SessionRead:
    """Withdraw an injection session (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = injections.get_session(db=db, actor=principal.actor, session_id=session_id, field="id")
    visible(principal, found.clinic_id, "injection_session", session_id)
    return injections.withdraw_session(
        db=db, actor=principal.actor, session_id=session_id, reason=body.reason
    )


@router.get("/sessions/{session_id}/history", response_model=list[SessionRead])
def session_history(session_id: RecordId, db: SessionDep, principal: Reader) -> list[SessionRead]:
    """Every version of an injection session, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = injections.session_history(db=db, actor=principal.actor, session_id=session_id)
    visible(principal, versions[-1].clinic_id, "injection_session", session_id)
    return versions


# ---- adverse event -----------------------------------------------------------------------------


@router.put("/adverse-events/{event_id}", response_model=AdverseEventRead, responses=WRITE_ERRORS)
def correct_adverse_event(
    event_id: RecordId, body: Correction[AdverseEventCreate], db: SessionDep, principal: AdverseEventWriter
) -> AdverseEventRead:
    """Correct an adverse event: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = injections.get_adverse_event(db=db, actor=principal.actor, event_id=event_id, field="id")
    visible(principal, found.clinic_id, "adverse_event", event_id)
    return injections.update_adverse_event(
        db=db, actor=principal.actor, event_id=event_id, data=body.data, reason=body.reason
    )


@router.post("/adverse-events/{event_id}/withdraw", response_model=AdverseEventRead, responses=WRITE_ERRORS)
def withdraw_adverse_event(
    event_id: RecordId, body: Withdrawal, db: SessionDep, principal: AdverseEventWriter
) -> AdverseEventRead:
    """Withdraw an adverse event (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = injections.get_adverse_event(db=db, actor=principal.actor, event_id=event_id, field="id")
    visible(principal, found.clinic_id, "adverse_event", event_id)
    return injections.withdraw_adverse_event(
        db=db, actor=principal.actor, event_id=event_id, reason=body.reason
    )


@router.get("/adverse-events/{event_id}/history", response_model=list[AdverseEventRead])
def adverse_event_history(event_id: RecordId, db: SessionDep, principal: Reader) -> list[AdverseEventRead]:
    """Every version of an adverse event, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = injections.adverse_event_history(db=db, actor=principal.actor, event_id=event_id)
    visible(principal, versions[-1].clinic_id, "adverse_event", event_id)
    return versions


# ---- therapy plan ------------------------------------------------------------------------------


@router.put("/therapy/plans/{plan_id}", response_model=TherapyPlanRead, responses=WRITE_ERRORS)
def correct_therapy_plan(
    plan_id: RecordId, body: Correction[TherapyPlanCreate], db: SessionDep, principal: Therapist
) -> TherapyPlanRead:
    """Correct a therapy plan: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = therapy.get_plan(db=db, actor=principal.actor, plan_id=plan_id, field="id")
    visible(principal, found.clinic_id, "therapy_plan", plan_id)
    return therapy.update_plan(
        db=db, actor=principal.actor, plan_id=plan_id, data=body.data, reason=body.reason
    )


@router.post("/therapy/plans/{plan_id}/withdraw", response_model=TherapyPlanRead, responses=WRITE_ERRORS)
def withdraw_therapy_plan(
    plan_id: RecordId, body: Withdrawal, db: SessionDep, principal: Therapist
) -> TherapyPlanRead:
    """Withdraw a therapy plan (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = therapy.get_plan(db=db, actor=principal.actor, plan_id=plan_id, field="id")
    visible(principal, found.clinic_id, "therapy_plan", plan_id)
    return therapy.withdraw_plan(db=db, actor=principal.actor, plan_id=plan_id, reason=body.reason)


@router.get("/therapy/plans/{plan_id}/history", response_model=list[TherapyPlanRead])
def therapy_plan_history(plan_id: RecordId, db: SessionDep, principal: Reader) -> list[TherapyPlanRead]:
    """Every version of a therapy plan, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = therapy.plan_history(db=db, actor=principal.actor, plan_id=plan_id)
    visible(principal, versions[-1].clinic_id, "therapy_plan", plan_id)
    return versions


# ---- therapy visit -----------------------------------------------------------------------------


@router.put("/therapy/visits/{visit_id}", response_model=TherapyVisitRead, responses=WRITE_ERRORS)
def correct_therapy_visit(
    visit_id: RecordId, body: Correction[TherapyVisitCreate], db: SessionDep, principal: Therapist
) -> TherapyVisitRead:
    """Correct a therapy visit: the whole record as corrected and the reason; saved as a new version, the
    earlier one stays in the history."""
    found = therapy.get_visit(db=db, actor=principal.actor, visit_id=visit_id, field="id")
    visible(principal, found.clinic_id, "therapy_visit", visit_id)
    return therapy.update_visit(
        db=db, actor=principal.actor, visit_id=visit_id, data=body.data, reason=body.reason
    )


@router.post("/therapy/visits/{visit_id}/withdraw", response_model=TherapyVisitRead, responses=WRITE_ERRORS)
def withdraw_therapy_visit(
    visit_id: RecordId, body: Withdrawal, db: SessionDep, principal: Therapist
) -> TherapyVisitRead:
    """Withdraw a therapy visit (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = therapy.get_visit(db=db, actor=principal.actor, visit_id=visit_id, field="id")
    visible(principal, found.clinic_id, "therapy_visit", visit_id)
    return therapy.withdraw_visit(db=db, actor=principal.actor, visit_id=visit_id, reason=body.reason)


@router.get("/therapy/visits/{visit_id}/history", response_model=list[TherapyVisitRead])
def therapy_visit_history(visit_id: RecordId, db: SessionDep, principal: Reader) -> list[TherapyVisitRead]:
    """Every version of a therapy visit, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = therapy.visit_history(db=db, actor=principal.actor, visit_id=visit_id)
    visible(principal, versions[-1].clinic_id, "therapy_visit", visit_id)
    return versions


# ---- outcome measurement -----------------------------------------------------------------------


@router.put("/outcomes/{outcome_id}", response_model=OutcomeRead, responses=WRITE_ERRORS)
def correct_outcome(
    outcome_id: RecordId, body: Correction[OutcomeCreate], db: SessionDep, principal: OutcomeWriter
) -> OutcomeRead:
    """Correct an outcome measurement: the whole record as corrected and the reason; saved as a new
    version, the earlier one stays in the history. The answers are scored again, by the current scorer
    (its version is kept with the scores)."""
    found = outcomes.get_outcome(db=db, actor=principal.actor, outcome_id=outcome_id, field="id")
    visible(principal, found.clinic_id, "outcome", outcome_id)
    return outcomes.update_outcome(
        db=db, actor=principal.actor, outcome_id=outcome_id, data=body.data, reason=body.reason
    )


@router.post("/outcomes/{outcome_id}/withdraw", response_model=OutcomeRead, responses=WRITE_ERRORS)
def withdraw_outcome(
    outcome_id: RecordId, body: Withdrawal, db: SessionDep, principal: OutcomeWriter
) -> OutcomeRead:
    """Withdraw an outcome measurement (a new version marked withdrawn, with the reason); nothing is deleted.
    Refused (409) while current records refer to it; correct or withdraw those first."""
    found = outcomes.get_outcome(db=db, actor=principal.actor, outcome_id=outcome_id, field="id")
    visible(principal, found.clinic_id, "outcome", outcome_id)
    return outcomes.withdraw_outcome(db=db, actor=principal.actor, outcome_id=outcome_id, reason=body.reason)


@router.get("/outcomes/{outcome_id}/history", response_model=list[OutcomeRead])
def outcome_history(outcome_id: RecordId, db: SessionDep, principal: Reader) -> list[OutcomeRead]:
    """Every version of an outcome measurement, oldest first: version, who (recorded_by), when (recorded_at),
    why (reason) and whether it was withdrawn; withdrawn records included."""
    versions = outcomes.outcome_history(db=db, actor=principal.actor, outcome_id=outcome_id)
    visible(principal, versions[-1].clinic_id, "outcome", outcome_id)
    return versions


# ---- reads the other routers do not have ------------------------------------------------------


@router.get("/adverse-events/{event_id}", response_model=AdverseEventRead)
def read_adverse_event(event_id: RecordId, db: SessionDep, principal: Reader) -> AdverseEventRead:
    """The current version of an adverse event."""
    found = injections.get_adverse_event(db=db, actor=principal.actor, event_id=event_id, field="id")
    visible(principal, found.clinic_id, "adverse_event", event_id)
    return found


@router.get("/therapy/visits/{visit_id}", response_model=TherapyVisitRead)
def read_therapy_visit(visit_id: RecordId, db: SessionDep, principal: Reader) -> TherapyVisitRead:
    """The current version of a therapy visit."""
    found = therapy.get_visit(db=db, actor=principal.actor, visit_id=visit_id, field="id")
    visible(principal, found.clinic_id, "therapy_visit", visit_id)
    return found
