"""Screenings, examinations, injection sessions (with the engine's decision) and adverse events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from bontrack.assessments.schemas import AssessmentCreate, AssessmentRead
from bontrack.assessments.service import create_assessment, get_assessment
from bontrack.injections import service as injections
from bontrack.injections.schemas import (
    AdverseEventCreate,
    AdverseEventRead,
    SessionCreate,
    SessionRead,
    SessionRecord,
)
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead
from bontrack.screening.service import create_screening, get_screening
from bontrack.web.api.common import AUTHENTICATED, ERRORS, RecordId, patient_in_scope, tagged
from bontrack.web.deps import (
    READ_CLINICAL,
    WRITE_ADVERSE_EVENTS,
    WRITE_ASSESSMENTS,
    WRITE_SCREENINGS,
    WRITE_SESSIONS,
    Principal,
    SessionDep,
    require,
)
from bontrack.web.problems import Problem

router = APIRouter(prefix="/api", tags=["clinical"], dependencies=AUTHENTICATED, responses=ERRORS)
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
Injector = Annotated[Principal, Depends(require(WRITE_SESSIONS))]


@router.post("/screenings", status_code=201, response_model=ScreeningRead)
def create_screening_record(
    data: ScreeningCreate, db: SessionDep, principal: Annotated[Principal, Depends(require(WRITE_SCREENINGS))]
) -> ScreeningRead:
    """Record a screening interview (pregnancy, allergies, conditions, medications)."""
    patient_in_scope(db, principal, data.patient_id)
    return create_screening(db=db, actor=principal.actor, data=data)


@router.get("/screenings/{screening_id}", response_model=ScreeningRead)
def read_screening(
    screening_id: RecordId,
    db: SessionDep,
    principal: Reader,
    response: Response,
) -> ScreeningRead:
    """The current version of a screening."""
    return tagged(response, get_screening(db=db, actor=principal.actor, screening_id=screening_id))


@router.post("/assessments", status_code=201, response_model=AssessmentRead)
def create_assessment_record(
    data: AssessmentCreate,
    db: SessionDep,
    principal: Annotated[Principal, Depends(require(WRITE_ASSESSMENTS))],
) -> AssessmentRead:
    """Record an examination: trigger points and pressure-pain thresholds."""
    patient_in_scope(db, principal, data.patient_id)
    return create_assessment(db=db, actor=principal.actor, data=data)


@router.get("/assessments/{assessment_id}", response_model=AssessmentRead)
def read_assessment(
    assessment_id: RecordId,
    db: SessionDep,
    principal: Reader,
    response: Response,
) -> AssessmentRead:
    """The current version of an assessment."""
    return tagged(response, get_assessment(db=db, actor=principal.actor, assessment_id=assessment_id))


@router.post("/sessions/check", response_model=SessionRecord)
def check_session(
    data: SessionCreate,
    db: SessionDep,
    principal: Injector,
    correcting: Annotated[
        str | None,
        Query(
            max_length=36,
            pattern=r"^[A-Za-z0-9-]+$",
            description="the id of the session being corrected: judged without its earlier version",
        ),
    ] = None,
) -> SessionRecord:
    """The decision engine's verdict on a proposed session in the patient's stored context.

    Nothing is saved. The injection form calls this as the plan is edited.
    """
    patient_in_scope(db, principal, data.patient_id)
    record, _decision = injections.judge(db=db, actor=principal.actor, data=data, exclude=correcting)
    return record


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionRead,
    responses={409: {"model": Problem, "description": "blocked plan without a clinician override"}},
)
def create_session(data: SessionCreate, db: SessionDep, principal: Injector) -> SessionRead:
    """Judge and save an injection session. The injector must be a physician of this clinic. A
    blocked plan is saved only with ``override``, given by the logged-in physician as themself
    (``override.clinician_id`` is their own clinician record, filled in when left out; naming
    anyone else is a 400): ``override.acknowledged`` lists the code of every blocking finding of
    the decision at save time (``POST /api/sessions/check`` shows them), and ``override.reason``
    says why in words: at least 3 different words with 15 letters between them (the knowledge
    base's ``pathway.override_reason_min_words`` and ``override_reason_min_chars``; a word written
    again, numbers and punctuation do not count). Else 409: naming ``override`` when there is none,
    ``override.acknowledged`` once per block not acknowledged (its code and words), or
    ``override.reason``. The override is stored and audited with the blocks it acknowledged."""
    patient_in_scope(db, principal, data.patient_id)
    return injections.create_session(
        db=db, actor=principal.actor, data=data, author=injections.Author(principal.user.clinician_id)
    )


@router.get("/sessions/{session_id}", response_model=SessionRead)
def read_session(session_id: RecordId, db: SessionDep, principal: Reader, response: Response) -> SessionRead:
    """The current version of a session, with the decision it was saved with."""
    return tagged(response, injections.get_session(db=db, actor=principal.actor, session_id=session_id))


@router.post("/adverse-events", status_code=201, response_model=AdverseEventRead)
def create_adverse_event(
    data: AdverseEventCreate,
    db: SessionDep,
    principal: Annotated[Principal, Depends(require(WRITE_ADVERSE_EVENTS))],
) -> AdverseEventRead:
    """Record an adverse event reported after a session."""
    patient_in_scope(db, principal, data.patient_id)
    return injections.report_adverse_event(db=db, actor=principal.actor, data=data)
