"""Stock by lot, the recall of a lot, and the dose planner for the session form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from bontrack.injections.suggest import PlanSuggestionRequest, suggest_plan
from bontrack.planning.dose import DosePlan
from bontrack.stock.schemas import (
    DiscardRequest,
    Recall,
    StockLine,
    StockReceiptCreate,
    StockReceiptSaved,
    VialDiscardRead,
)
from bontrack.stock.service import discard_vials, recall, receipt_warnings, receive_vials, stock_on_hand
from bontrack.web.api.common import AUTHENTICATED, ERRORS, patient_in_scope
from bontrack.web.deps import READ_CLINICAL, WRITE_SESSIONS, NowDep, Principal, SessionDep, require

router = APIRouter(prefix="/api", tags=["stock"], dependencies=AUTHENTICATED, responses=ERRORS)
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
Injector = Annotated[Principal, Depends(require(WRITE_SESSIONS))]


@router.post("/sessions/plan-dose", response_model=DosePlan)
def plan_session_dose(data: PlanSuggestionRequest, db: SessionDep, principal: Injector) -> DosePlan:
    """The dose planner's proposal (sites, vials, dilution, the engine's decision) for the
    patient's stored context and the chosen trigger points. Nothing is saved. A plan that cannot
    be made within the limits is a 400 naming ``targets`` with the reason."""
    patient_in_scope(db, principal, data.patient_id)
    return suggest_plan(db=db, actor=principal.actor, data=data)


@router.get("/stock", response_model=list[StockLine])
def list_stock(
    db: SessionDep,
    principal: Reader,
    at: NowDep,
    on: Annotated[dt.date | None, Query(description="judge expiry on this day (default: today)")] = None,
    include_empty: bool = False,
) -> list[StockLine]:
    """The stock of the user's clinic (an administrator: every clinic) by product and expiry."""
    return stock_on_hand(db=db, actor=principal.actor, on=on or at.date(), include_empty=include_empty)


@router.get("/recall/{lot}", response_model=Recall)
def recall_lot(
    db: SessionDep, principal: Reader, lot: Annotated[str, Path(min_length=1, max_length=64)]
) -> Recall:
    """Every session that used the lot, with the patient's contact details (audited). A
    physician sees their own clinic's; an administrator every clinic's."""
    return recall(db=db, actor=principal.actor, lot=lot)


@router.post("/stock/receipts", response_model=StockReceiptSaved, status_code=201)
def receive_delivery(data: StockReceiptCreate, db: SessionDep, principal: Injector) -> StockReceiptSaved:
    """Record a delivery of vials of one lot at the user's clinic. A product or vial size the
    knowledge base does not know, an expiry before 2000, or a lot received before (in any case)
    with another product, size or expiry, is a 400 naming the field. A lot already expired when
    received is saved, with a warning (it is never offered for a session)."""
    saved = receive_vials(db=db, actor=principal.actor, data=data)
    return StockReceiptSaved(**dict(saved), warnings=receipt_warnings(saved.data))


@router.post("/stock/discards", response_model=VialDiscardRead, status_code=201)
def discard(data: DiscardRequest, db: SessionDep, principal: Injector) -> VialDiscardRead:
    """Record unopened vials of a lot thrown away, with the reason; more vials than are left, or a
    lot not in the clinic's stock, is a 400 naming the field."""
    return discard_vials(db=db, actor=principal.actor, data=data)
