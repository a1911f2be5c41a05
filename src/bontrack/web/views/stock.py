"""The stock page (lots by product and expiry) and the recall of a lot (every patient given it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.knowledge import load_knowledge
from bontrack.stock.service import expiry_warning_days, recall, stock_on_hand
from bontrack.web.deps import READ_CLINICAL, NowDep, PageUser, SessionDep
from bontrack.web.views.common import allow, page

router = APIRouter(include_in_schema=False)


def _brands() -> dict[str, str]:
    return {pid: p.brands[0].upper() for pid, p in load_knowledge().files.products.items()}


@router.get("/stock", response_class=HTMLResponse)
def stock_page(request: Request, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    """The clinic's toxin stock by product and expiry, lots expiring soon flagged; a recall search."""
    allow(request, principal, READ_CLINICAL)
    today = at.date()
    lines = stock_on_hand(db=db, actor=principal.actor, on=today)
    return page(
        request,
        principal,
        "stock.html",
        lines=lines,
        today=today,
        warn_days=expiry_warning_days(),
        brands=_brands(),
    )


@router.get("/stock/recall", response_class=HTMLResponse)
def recall_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    lot: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """Every patient and session given a lot, with contact details (audited)."""
    allow(request, principal, READ_CLINICAL)
    found = recall(db=db, actor=principal.actor, lot=lot)
    return page(request, principal, "recall.html", found=found, brands=_brands())
