"""The worklist (outcome visits, re-injection windows, stop-and-review; overdue first) and the
audit log for administrators."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.audit.service import page_entries
from bontrack.scheduling.service import stop_and_review, worklist
from bontrack.storage.audit_log import log
from bontrack.web.deps import ADMIN, READ_CLINICAL, NowDep, PageUser, SessionDep
from bontrack.web.views.common import allow, page

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50
WORKLIST_PAGE = 100  # rows of due items per page (a large clinic has thousands)
# how far ahead the worklist looks, in days (a display choice, not a clinical number)
HORIZONS = (7, 14, 30)
# how far back overdue items are listed, in days (0: all). Visits missed long ago stay overdue
# for ever; the page says how many older ones it leaves out and links to them. A display choice.
LOOK_BACK = (28, 84, 365, 0)


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    days: Annotated[int, Query(ge=0, le=365)] = 14,
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    back: Annotated[int, Query(ge=0, le=3650)] = 84,
) -> Response:
    """What is due in the next days, overdue first (a page at a time), and who to review before
    another injection."""
    allow(request, principal, READ_CLINICAL)
    clinic = principal.user.clinic_id
    today = at.date()
    items = worklist(db=db, actor=principal.actor, today=today, horizon_days=days, clinic_id=clinic)
    reviews = stop_and_review(db=db, actor=principal.actor, clinic_id=clinic)
    older = 0
    if back:
        since = today - dt.timedelta(days=back)
        shown = [i for i in items if i.status != "overdue" or i.due_date >= since]
        older, items = len(items) - len(shown), shown
    pages = max(1, math.ceil(len(items) / WORKLIST_PAGE))
    page_no = min(page_no, pages)
    start = (page_no - 1) * WORKLIST_PAGE
    return page(
        request,
        principal,
        "worklist.html",
        items=items[start : start + WORKLIST_PAGE],
        total=len(items),
        first=start + 1,
        page_no=page_no,
        pages=pages,
        reviews=reviews,
        today=today,
        days=days,
        horizons=HORIZONS,
        back=back,
        look_back=LOOK_BACK,
        older=older,
        overdue=sum(1 for i in items if i.status == "overdue"),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    actor: Annotated[str, Query(max_length=200)] = "",
    record_id: Annotated[str, Query(max_length=36)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    back: Annotated[int, Query(ge=0, le=3650)] = 84,
) -> Response:
    """The audit trail, newest first, filtered by actor or record (reading it is itself audited)."""
    allow(request, principal, ADMIN)
    offset = (page_no - 1) * AUDIT_PAGE
    total, entries = page_entries(
        db, limit=AUDIT_PAGE, offset=offset, record_id=record_id or None, actor=actor or None
    )
    log(
        db,
        actor=principal.actor,
        action="read",
        record_type="audit_log",
        detail=f"{len(entries)} entries from offset {offset} (page)"
        + (f", record {record_id}" if record_id else "")
        + (f", actor {actor}" if actor else ""),
    )
    return page(
        request,
        principal,
        "audit.html",
        entries=entries,
        total=total,
        actor=actor,
        record_id=record_id,
        page_no=page_no,
        pages=max(1, math.ceil(total / AUDIT_PAGE)),
    )
