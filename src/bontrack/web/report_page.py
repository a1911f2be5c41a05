"""The clinic report in the web app: the same document as `bontrack report`, for the user's clinic.

Researchers get it without the stop-and-review list (the only part that names patients); every
other number in the report is aggregated.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.content import Report, build_report
from bontrack.reports.data import cohort_frames
from bontrack.web.deps import CurrentUser, NowDep, PageUser, Principal, SessionDep

router = APIRouter()
# The report is one self-contained document: its style is inline and its figures are data: URLs.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _report(db: SessionDep, principal: Principal, at: NowDep) -> Report:
    frames = cohort_frames(db=db, actor=principal.actor, clinic_id=principal.user.clinic_id)
    report = build_report(frames, load_knowledge(), today=at.date())
    if principal.role == "researcher":
        report = replace(report, stop_and_review=[])
        report.caveats.append("Shown to a researcher: the list of patients due for review is left out.")
    return report


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(principal: PageUser, db: SessionDep, at: NowDep) -> HTMLResponse:
    """The clinic report as a page (figures inline)."""
    from bontrack.reports.plots import render_figures
    from bontrack.reports.render import render_html

    report = _report(db, principal, at)
    return HTMLResponse(
        render_html(report, render_figures(report)),
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
    )


@router.get("/api/report", tags=["report"])
def report_json(principal: CurrentUser, db: SessionDep, at: NowDep) -> JSONResponse:
    """Every number of the clinic report (the user's clinic, or all clinics for users of none)."""
    return JSONResponse(_report(db, principal, at).to_dict())
