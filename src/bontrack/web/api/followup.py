"""Physical therapy, outcome measurements and the worklist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from bontrack.outcomes.schemas import OutcomeCreate, OutcomeRead
from bontrack.outcomes.service import get_outcome, record_outcome
from bontrack.scheduling.actions import work_list
from bontrack.scheduling.schemas import DueItem
from bontrack.scheduling.window import MAX_LOOK_AHEAD, MAX_LOOK_BACK, load_window
from bontrack.schemas import CalendarDate
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import (
    TherapyPlanCreate,
    TherapyPlanRead,
    TherapyVisitCreate,
    TherapyVisitRead,
    TherapyVisitSaved,
)
from bontrack.web.api.common import AUTHENTICATED, ERRORS, RecordId, patient_in_scope, tagged
from bontrack.web.api.schemas import Page
from bontrack.web.deps import (
    READ_CLINICAL,
    WRITE_OUTCOMES,
    WRITE_THERAPY,
    NowDep,
    PageDep,
    Principal,
    SessionDep,
    clinic_scope,
    require,
)

router = APIRouter(prefix="/api", tags=["follow-up"], dependencies=AUTHENTICATED, responses=ERRORS)
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
Therapist = Annotated[Principal, Depends(require(WRITE_THERAPY))]


@router.post("/therapy/plans", status_code=201, response_model=TherapyPlanRead, responses={409: ERRORS[400]})
def create_therapy_plan(data: TherapyPlanCreate, db: SessionDep, principal: Therapist) -> TherapyPlanRead:
    """Record a physical-therapy plan for an episode. A period that overlaps a current plan of the
    patient is a 409 naming ``start_date`` and that plan (correct it instead); a therapist whose
    role does not deliver therapy (knowledge: pathway.therapist_roles) is a 400 naming
    ``therapist_id``."""
    patient_in_scope(db, principal, data.patient_id)
    return therapy.create_plan(db=db, actor=principal.actor, data=data)


@router.get("/therapy/plans/{plan_id}", response_model=TherapyPlanRead)
def read_therapy_plan(
    plan_id: RecordId,
    db: SessionDep,
    principal: Reader,
    response: Response,
) -> TherapyPlanRead:
    """The current version of a therapy plan."""
    return tagged(response, therapy.get_plan(db=db, actor=principal.actor, plan_id=plan_id))


@router.get("/therapy/plans/{plan_id}/visits", response_model=list[TherapyVisitRead])
def list_therapy_visits(plan_id: RecordId, db: SessionDep, principal: Reader) -> list[TherapyVisitRead]:
    """Visits recorded for a plan, by date."""
    therapy.get_plan(db=db, actor=principal.actor, plan_id=plan_id)  # there, and of the user's clinic
    return therapy.visits_of_plan(db=db, actor=principal.actor, plan_id=plan_id)


@router.post(
    "/therapy/visits", status_code=201, response_model=TherapyVisitSaved, responses={409: ERRORS[400]}
)
def create_therapy_visit(data: TherapyVisitCreate, db: SessionDep, principal: Therapist) -> TherapyVisitSaved:
    """Record a physical-therapy visit (attended or missed). A second visit of the plan on the same
    day is a 409 naming ``date`` (correct that visit instead); a visit beyond the plan's planned
    number is saved, with a warning in ``warnings``."""
    patient_in_scope(db, principal, data.patient_id)
    saved = therapy.record_visit(db=db, actor=principal.actor, data=data)
    return TherapyVisitSaved(
        **dict(saved), warnings=therapy.visit_warnings(db=db, actor=principal.actor, visit_id=saved.id)
    )


@router.post("/outcomes", status_code=201, response_model=OutcomeRead)
def create_outcome(
    data: OutcomeCreate, db: SessionDep, principal: Annotated[Principal, Depends(require(WRITE_OUTCOMES))]
) -> OutcomeRead:
    """Record a completed questionnaire (raw answers); it is scored when saved."""
    patient_in_scope(db, principal, data.patient_id)
    return record_outcome(db=db, actor=principal.actor, data=data)


@router.get("/outcomes/{outcome_id}", response_model=OutcomeRead)
def read_outcome(outcome_id: RecordId, db: SessionDep, principal: Reader, response: Response) -> OutcomeRead:
    """The current version of an outcome measurement, with its scores."""
    return tagged(response, get_outcome(db=db, actor=principal.actor, outcome_id=outcome_id))


@router.get("/worklist", response_model=Page[DueItem])
def read_worklist(
    db: SessionDep,
    principal: Reader,
    page: PageDep,
    at: NowDep,
    date: Annotated[
        CalendarDate | None,
        Query(description="the day to plan for (default: today): 1900-01-01 .. 2100-12-31"),
    ] = None,
    days: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_LOOK_AHEAD, description="look ahead this many days (default: the worklist window's)"
        ),
    ] = None,
    back: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_LOOK_BACK,
            description="look back this many days (default: the worklist window's); 0: every open item",
        ),
    ] = None,
    clinic_id: Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] = None,
) -> Page[DueItem]:
    """Outcome visits, re-injection dates and physical-therapy visits within the worklist's window
    (the web page's and `bontrack due`'s), with the worklist actions applied (done, cancelled and
    snoozed items left out); overdue first."""
    worked = work_list(
        db=db,
        actor=principal.actor,
        today=date or at.date(),
        window=load_window(look_ahead_days=days, look_back_days=back or None),
        clinic_id=clinic_scope(principal, clinic_id),
        everything=back == 0,
        limit=page.limit,
        offset=page.offset,
        review_limit=0,
    )
    return Page(items=worked.items, total=worked.total, limit=page.limit, offset=page.offset)
