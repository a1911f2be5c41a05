"""The clinic report in the web app: the same document as `bontrack report`, for the user's clinic.

Researchers get it without the stop-and-review list (the only part that names patients); every
other number in the report is aggregated.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from bontrack.knowledge.loader import KnowledgeBase, load_knowledge
from bontrack.reports.content import Report, build_report
from bontrack.reports.data import cohort_frames
from bontrack.storage.replica import read_session
from bontrack.web.deps import CurrentUser, NowDep, PageUser, Principal, SessionDep, SettingsDep
from bontrack.web.settings import WebSettings

router = APIRouter()
# The report is one self-contained document: its style is inline and its figures are data: URLs.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _report(db: SessionDep, principal: Principal, at: NowDep, settings: WebSettings) -> Report:
    """Rows from the read replica if there is one; the reads are audited in ``db`` (the primary),
    committed before the answer leaves."""
    clinic = principal.user.clinic_id
    with read_session(settings.read_engine, db, clinic) as source:
        frames = cohort_frames(db=source, actor=principal.actor, clinic_id=clinic)
    kb = load_knowledge()
    researcher = principal.role == "researcher"
    if researcher:
        frames = replace(frames, adverse_events=coded_events(frames.adverse_events, kb))
    report = build_report(frames, kb, today=at.date())
    if researcher:
        summary = dict(report.summary)
        for key in ("first_session", "last_session"):  # dates to the year, as every de-identified date
            if summary.get(key):
                summary[key] = str(summary[key])[:4]
        report = replace(report, stop_and_review=[], summary=summary)
        report.caveats.append(
            "Shown to a researcher: the list of patients due for review is left out, session dates "
            "are given to the year, and adverse events described in the clinician's own words "
            f"are counted as {OTHER_EVENT!r}."
        )
    return report


# Adverse-event terms a researcher sees as they are: the labels' terms (knowledge) and these common
# ones. Any other event is the clinician's own words (free text, which may name a person or a
# place) and is counted under OTHER_EVENT.
COMMON_EVENT_TERMS = (
    "dysphagia",
    "neck pain",
    "neck weakness",
    "headache",
    "injection-site pain",
    "flu-like symptoms",
    "dry mouth",
    "upper respiratory infection",
)
OTHER_EVENT = "other (described in words)"


def coded_events(events: pd.DataFrame, kb: KnowledgeBase) -> pd.DataFrame:
    """The adverse events with each term that is not a known one replaced by OTHER_EVENT."""
    known = {t.lower() for t in COMMON_EVENT_TERMS} | {
        term.lower() for label in kb.files.label_adverse_reactions.values() for term in label.percent
    }
    if "event" not in events.columns or len(events) == 0:
        return events
    terms = events["event"].astype(str).str.strip().str.lower()
    out = events.copy()
    out["event"] = terms.where(terms.isin(known), OTHER_EVENT)
    return out


# The page's way back into the app (the report's own HTML is also the PDF's and the CLI's file, so
# the bar is added here); inline style, as the report's CSP allows no other.
NAV_STYLE = (
    "<style>.app-nav{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center;max-width:60rem;"
    "margin:0 auto;padding:.6rem 1rem;border-bottom:1px solid #d6e4f0;font-family:system-ui,sans-serif}"
    ".app-nav a{color:#1f4e79;min-height:44px;display:inline-flex;align-items:center}"
    ".app-nav .brand{font-weight:700;color:#1b2631;text-decoration:none;margin-right:auto}"
    ".app-nav .who{color:#4a5561}.app-nav form{margin:0}"
    ".app-nav button{background:none;border:0;padding:0;min-height:44px;font:inherit;color:#1f4e79;"
    "text-decoration:underline;cursor:pointer}"
    "@media print{.app-nav{display:none}}</style>"
)


def _nav(principal: Principal) -> str:
    """The app's bar: the same links and the same way out as every page's (templates/base.html)."""
    from bontrack.web.pages import templates

    parts = [
        templates.get_template(name).render(user=principal) for name in ("_nav_links.html", "_nav_user.html")
    ]
    brand = '<a class="brand" href="/">bontrack</a>'
    return f'{NAV_STYLE}<nav class="app-nav" aria-label="Main">{brand}{"".join(parts)}</nav>'


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(principal: PageUser, db: SessionDep, at: NowDep, settings: SettingsDep) -> HTMLResponse:
    """The clinic report as a page (figures inline), with the app's way back."""
    from bontrack.reports.plots import render_figures
    from bontrack.reports.render import render_html

    report = _report(db, principal, at, settings)
    html = render_html(report, render_figures(report)).replace("<body>", f"<body>\n{_nav(principal)}", 1)
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
    )


@router.get("/api/report", tags=["report"])
def report_json(principal: CurrentUser, db: SessionDep, at: NowDep, settings: SettingsDep) -> JSONResponse:
    """Every number of the clinic report (the user's clinic, or all clinics for users of none)."""
    return JSONResponse(_report(db, principal, at, settings).to_dict())
