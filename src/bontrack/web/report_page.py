"""The clinic report in the web app: the same document as `bontrack report`, for the user's clinic.

Researchers get it without the stop-and-review list (the only part that names patients); every
other number in the report is aggregated.

Filters, as the command's ``--date`` and ``--clinic``: ``date`` (the report as of that day, not
after today) and ``clinic`` (one clinic the user sees: a user of one clinic may give their own;
another is refused as every other clinic's list is, whether it exists or not). A researcher's
date is today or the end of a year (YYYY-12-31): the report's counts change on the day of each
session, so a report of any day would date each session to the day, and a researcher sees
session dates to the year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from html import escape
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bontrack.analytics.event_terms import event_key, known_names
from bontrack.dates import EARLIEST, not_a_date
from bontrack.errors import FieldError, InputError
from bontrack.knowledge.loader import KnowledgeBase, load_knowledge
from bontrack.patients.service import get_clinic
from bontrack.reports.columnar import _sqlite_file
from bontrack.reports.content import Report, build_report
from bontrack.reports.data import cohort_frames
from bontrack.reports.sections.adverse_events import known_events
from bontrack.storage.replica import held_read_session, read_session
from bontrack.web.deps import (
    CurrentUser,
    NowDep,
    PageUser,
    Principal,
    SessionDep,
    SettingsDep,
    clinic_scope,
)
from bontrack.web.settings import WebSettings

router = APIRouter()
# The report is one self-contained document: its style is inline and its figures are data: URLs.
# The one script is the app's own idle warning (static/session_idle.js), which asks the server
# about the session (connect-src) and posts "Stay logged in" or the in-page log-in.
REPORT_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


DateQuery = Annotated[
    str,
    Query(
        max_length=40,
        description="the report as of this day, YYYY-MM-DD, not after today (default: today); "
        "a researcher's: today or the end of a year, YYYY-12-31",
    ),
]
ClinicQuery = Annotated[
    str,
    Query(
        max_length=36,
        description="one clinic's id, of the clinics the user sees (default: the user's clinic, "
        "or every clinic for a user of none)",
    ),
]
EVERY_CLINIC = "Every clinic"


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers: the day it is as of and the clinic (None: every clinic the user sees)."""

    day: dt.date
    clinic_id: str | None
    covers: str  # the clinic's name, or EVERY_CLINIC


def _day(text: str, today: dt.date, *, researcher: bool) -> dt.date:
    """The report's day from ``date`` (today when not given), or an InputError naming ``date``."""
    if not text:
        return today
    wrong = not_a_date(text)
    if wrong is not None:
        raise InputError([FieldError("date", wrong)])
    day = dt.date.fromisoformat(text)
    if not EARLIEST <= day <= today:
        where = "after today" if day > today else "out of range"
        allowed = f"allowed: YYYY-MM-DD from {EARLIEST.isoformat()} to today ({today.isoformat()})"
        raise InputError([FieldError("date", f"{text} is {where}; {allowed}")])
    if researcher and day != today and (day.month, day.day) != (12, 31):
        raise InputError(
            [
                FieldError(
                    "date",
                    f"{text} is not 31 December; a researcher's report is as of today or the end "
                    "of a year (YYYY-12-31), as session dates are shown to the year",
                )
            ]
        )
    return day


def report_filter(db: SessionDep, principal: Principal, at: NowDep, date: str, clinic: str) -> ReportFilter:
    """The filter asked for, checked: a clinic the user does not see is refused (403, the same
    answer whether it exists or not), an unknown one of a user of every clinic is not found
    (404 naming ``clinic``); a wrong date is a 400 naming ``date``."""
    chosen = clinic_scope(principal, clinic or None)
    day = _day(date, at.date(), researcher=principal.role == "researcher")
    if chosen is None:
        return ReportFilter(day, None, EVERY_CLINIC)
    found = get_clinic(db=db, actor=principal.actor, clinic_id=chosen, field="clinic")
    return ReportFilter(day, chosen, found.data.name)


def _report(db: SessionDep, principal: Principal, settings: WebSettings, chosen: ReportFilter) -> Report:
    """Rows from the read replica if there is one; on a SQLite file, read by the driver with the
    write lock held for the read (storage.replica.held_read_session: the request's own
    transaction is a reader's, which other connections' reads could not share). On PostgreSQL
    the driver's connections share the snapshot of the read's transaction (a GET's has written
    nothing: its audit entries come at its end; one that has is read through its own connection:
    reports.columnar_driver). The reads are audited in ``db`` (the primary), committed before the
    answer leaves."""
    held = settings.read_engine is None and _sqlite_file(db) is not None
    clinic_id = principal.user.clinic_id
    with (
        held_read_session(settings.engine, db, clinic_id)
        if held
        else read_session(settings.read_engine, db, clinic_id)
    ) as rows:
        # as `bontrack report` reads: held, the file by the driver; PostgreSQL by the driver
        # (committed: the read's transaction has written nothing); the ids coded and the scores
        # kept in DuckDB
        frames = cohort_frames(
            db=rows,
            actor=principal.actor,
            clinic_id=chosen.clinic_id,
            committed=held or rows.get_bind().dialect.name == "postgresql",
            coded_ids=True,
            every_score=False,
        )
    kb = load_knowledge()
    researcher = principal.role == "researcher"
    try:
        if researcher:
            frames = replace(frames, adverse_events=coded_events(frames.adverse_events, kb))
        report = replace(build_report(frames, kb, today=chosen.day), covers=chosen.covers)
    finally:  # the read's DuckDB tables (and their temporary folder) let go
        if frames.cycle_rows is not None:
            frames.cycle_rows.close()
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
    """The adverse events with each term that is not a known one replaced by OTHER_EVENT; a
    known one by its own name (matched as the report groups events: analytics.event_terms)."""
    known = known_names(COMMON_EVENT_TERMS, {}) | known_events(kb)
    if "event" not in events.columns or len(events) == 0:
        return events
    codes, uniques = pd.factorize(events["event"].to_numpy(dtype=object))
    names = [known.get(event_key(u), OTHER_EVENT) if isinstance(u, str) else OTHER_EVENT for u in uniques]
    out = events.copy()
    out["event"] = np.array([*names, OTHER_EVENT], dtype=object)[codes]
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
    "@media print{.app-nav{display:none}}"
    ".report-filter{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;max-width:60rem;"
    "margin:.8rem auto 0;padding:0 1rem;box-sizing:border-box;font-family:system-ui,sans-serif}"
    ".report-filter div{max-width:100%}.report-filter label{display:block;color:#4a5561}"
    ".report-filter input,.report-filter select,.report-filter button{min-height:44px;font:inherit;"
    "max-width:100%;box-sizing:border-box}"
    ".report-filter button{background:#1f4e79;color:#fff;border:0;border-radius:4px;padding:0 1.2rem;"
    "cursor:pointer}@media print{.report-filter{display:none}}</style>"
)


# The idle warning and the log-in dialog of static/session_idle.js, as style.css draws them
# (the report loads no style sheet: its CSP allows inline style only).
IDLE_STYLE = (
    "<style>.idle-warning{position:fixed;top:.5rem;left:50%;transform:translateX(-50%);z-index:20;"
    "box-sizing:border-box;width:min(38rem,calc(100vw - 1rem));display:flex;flex-wrap:wrap;"
    "align-items:center;gap:.5rem 1rem;background:#fff2cc;color:#1d2430;border:2px solid #b58a00;"
    "border-radius:8px;padding:.6rem .9rem;box-shadow:0 2px 10px rgba(0,0,0,.25);"
    "font:16px/1.5 system-ui,sans-serif}.idle-warning[hidden]{display:none}"
    ".idle-warning p{margin:0;flex:1 1 14rem}"
    ".idle-warning button,dialog.relogin button{margin:0;min-height:44px;padding:.6rem 1.2rem;font:inherit;"
    "border:0;border-radius:6px;background:#1f5fa8;color:#fff;cursor:pointer}"
    "dialog.relogin button.secondary{background:#fff;color:#1f5fa8;border:1px solid #1f5fa8}"
    "dialog.relogin{box-sizing:border-box;width:min(26rem,calc(100vw - 1.5rem));border:1px solid #d8dde4;"
    "border-radius:8px;padding:1.2rem 1.4rem;color:#1d2430;background:#fff;"
    "font:16px/1.5 system-ui,sans-serif}dialog.relogin::backdrop{background:rgba(29,36,48,.55)}"
    "dialog.relogin h2{border:0;margin-top:0}dialog.relogin .error{color:#a8261f}"
    "dialog.relogin label{display:block;margin-top:.8rem;font-weight:600}"
    "dialog.relogin input{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;"
    "border:1px solid #d8dde4;border-radius:6px}"
    "dialog.relogin .relogin-actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}"
    "@media print{.idle-warning{display:none}}</style>"
)


def _idle_parts(request: Request, principal: Principal, settings: WebSettings) -> tuple[str, str]:
    """What base.html gives a logged-in page for its idle warning: the head's CSRF token and
    script, and the body's attributes (how long the session lasts unused, and whose it is)."""
    script = request.url_for("static", path="session_idle.js").path
    head = (
        f'<meta name="csrf-token" content="{escape(principal.csrf_token or "")}">'
        f'<script src="{escape(script)}" defer></script>{IDLE_STYLE}'
    )
    idle = int(settings.session_idle_timeout.total_seconds())
    body = f' data-idle-seconds="{idle}" data-user-email="{escape(principal.user.email)}"'
    return head, body


def _nav(principal: Principal) -> str:
    """The app's bar: the same links and the same way out as every page's (templates/base.html)."""
    from bontrack.web.pages import templates

    parts = [
        templates.get_template(name).render(user=principal) for name in ("_nav_links.html", "_nav_user.html")
    ]
    brand = '<a class="brand" href="/">bontrack</a>'
    return f'{NAV_STYLE}<nav class="app-nav" aria-label="Main">{brand}{"".join(parts)}</nav>'


def _filter_form(
    db: SessionDep, principal: Principal, chosen: ReportFilter, report: Report, today: dt.date
) -> str:
    """The form above the report: the day (a researcher: today or the end of a year since the
    first session) and, for a user who sees every clinic, the clinic; the values shown kept."""
    from bontrack.web.pages import templates
    from bontrack.web.views.common import clinic_choices

    years: list[int] = []
    if principal.role == "researcher":
        first = str(report.summary.get("first_session") or "")[:4]
        start = int(first) if first.isdigit() else chosen.day.year
        years = sorted(set(range(start, today.year)) | ({chosen.day.year} if chosen.day != today else set()))
    return templates.get_template("_report_filter.html").render(
        day=chosen.day.isoformat(),
        today=today.isoformat(),
        researcher=principal.role == "researcher",
        years=years,
        clinics=clinic_choices(db) if principal.user.clinic_id is None else [],
        clinic=chosen.clinic_id or "",
    )


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request,
    principal: PageUser,
    db: SessionDep,
    at: NowDep,
    settings: SettingsDep,
    date: DateQuery = "",
    clinic: ClinicQuery = "",
) -> HTMLResponse:
    """The clinic report as a page (figures inline), with the app's way back and its filters;
    a wrong date is a page in words with the way to today's report."""
    from bontrack.reports.plots import render_figures
    from bontrack.reports.render import render_html
    from bontrack.web.views.common import PageProblem

    try:
        chosen = report_filter(db, principal, at, date, clinic)
    except InputError as exc:
        words = " ".join(f"The report date {e.message}." for e in exc.errors)
        raise PageProblem(400, "Cannot show this report", words, link=("/report", "Today's report")) from exc
    report = _report(db, principal, settings, chosen)
    top = _nav(principal) + _filter_form(db, principal, chosen, report, at.date())
    head, body = _idle_parts(request, principal, settings)
    html = render_html(report, render_figures(report)).replace("</head>", f"{head}\n</head>", 1)
    html = html.replace("<body>", f"<body{body}>\n{top}", 1)
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
    )


@router.get("/api/report", tags=["report"])
def report_json(
    principal: CurrentUser,
    db: SessionDep,
    at: NowDep,
    settings: SettingsDep,
    date: DateQuery = "",
    clinic: ClinicQuery = "",
) -> JSONResponse:
    """Every number of the clinic report (the user's clinic, or all clinics for users of none),
    as of ``date`` and of ``clinic`` if given (``covers`` names the clinic or clinics)."""
    chosen = report_filter(db, principal, at, date, clinic)
    return JSONResponse(_report(db, principal, settings, chosen).to_dict())
