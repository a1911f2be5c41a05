"""The home page: the day's clinic for the logged-in user's clinic and role (issue 14, item 1).

Due today, due this week and overdue (the worklist's one window), stop-and-review flags still
open, today's injection sessions with their decision (blocks first for a physician), and the
self-reports patients sent since yesterday; every row links to what to do next. A researcher
(who reads de-identified data only) sees where to go instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.scheduling.today import today_of_clinic
from bontrack.scheduling.window import load_window
from bontrack.web.deps import READ_CLINICAL, NowDep, PageUser, SessionDep
from bontrack.web.views.common import page
from bontrack.web.views.worklist import row_helpers

router = APIRouter(include_in_schema=False)
HOME_ROWS = 10  # rows per section (what a person reads at a glance); the rest: a link to the worklist


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    request.state.principal = principal
    if principal.role not in READ_CLINICAL:
        return page(request, principal, "home.html", day=None)
    today = at.date()
    day = today_of_clinic(
        db=db,
        actor=principal.actor,
        today=today,
        window=load_window(),
        clinic_id=principal.user.clinic_id,
        role=principal.role,
        rows=HOME_ROWS,
    )
    return page(
        request, principal, "home.html", day=day, here="/", rows=HOME_ROWS, **row_helpers(today, principal)
    )
