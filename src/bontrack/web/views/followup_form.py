"""One follow-up visit on one page: the questionnaires the schedule asks at that visit (NPRS, NDI,
RAND-36: pathway.outcome_visit_weeks), saved together in one transaction.

The visit is named by its session and date; the weeks after the session are computed from the
two dates (``scheduling.visits.follow_up``), never typed. A questionnaire left wholly blank is
not recorded; at least one must be answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.dates import Bound
from bontrack.dates import problem as date_problem
from bontrack.errors import FieldError, InputError
from bontrack.injections.schemas import SessionRead
from bontrack.injections.service import sessions_of_patient
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import episodes_of_patient
from bontrack.scheduling.visits import (
    FollowUp,
    baseline_instruments,
    first_follow_up_day,
    follow_up,
    last_follow_up_day,
)
from bontrack.schemas import parse
from bontrack.web.deps import WRITE_OUTCOMES, NowDep, PageUser, Principal, SessionDep
from bontrack.web.display import session_words
from bontrack.web.forms import answer_codes, nest, section
from bontrack.web.views.common import FormItems, allow, check_csrf, csrf_of, page, patient_for, save

router = APIRouter(include_in_schema=False)
NOT_A_FOLLOW_UP = "none"


def parse_visit_date(text: str | None, today: dt.date) -> tuple[dt.date, str | None]:
    """The visit's date as typed (blank: today), or today and why the text is not a date."""
    if not text or not text.strip():
        return today, None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return today, "must be a date (YYYY-MM-DD)"
    wrong = date_problem(day, Bound.EVENT, today)
    return (today, wrong) if wrong else (day, None)


def _visit(
    sessions: list[SessionRead], session_id: str | None, day: dt.date
) -> tuple[SessionRead | None, FollowUp | None, list[str]]:
    """The session followed up (default: the latest on or before the day), the visit it makes,
    and the questionnaires due (a visit after no session: every questionnaire of the schedule)."""
    kb = load_knowledge()
    earlier = [s for s in sessions if s.data.date <= day]
    if session_id == NOT_A_FOLLOW_UP:
        session = None
    elif session_id:
        session = next((s for s in sessions if s.id == session_id), None)
    else:  # the latest session, if the day is one of its follow-up visits
        session = earlier[-1] if earlier and follow_up(earlier[-1].data.date, day, kb) else None
    visit = follow_up(session.data.date, day, kb) if session else None
    return session, visit, visit.instruments if visit else baseline_instruments(kb)


def _summary(session: SessionRead | None, visit: FollowUp | None, day: dt.date) -> str:
    """The visit in words: which scheduled visit of which session, or why it follows up none."""
    if session is None:
        return "A visit that follows up no injection session (a baseline)."
    if visit is not None:
        when = f"{visit.elapsed[:1].upper()}{visit.elapsed[1:]}"
        return f"{when} after the session of {session.data.date}: the {visit.week}-week visit."
    if day < session.data.date:
        return f"The visit date is before the session of {session.data.date}: choose another date or session."
    kb, days = load_knowledge(), (day - session.data.date).days
    none = "recorded as a visit that follows up no session."
    if days < first_follow_up_day(kb):
        where = f"{days} days after the session of {session.data.date}, before its first follow-up visit"
        return f"{where} (from day {first_follow_up_day(kb)}): {none}"
    where = f"{days // 7} weeks after the session of {session.data.date}, past its follow-up visits"
    return f"{where} (up to day {last_follow_up_day(kb)}): {none}"


def _form(
    request: Request,
    db: Session,
    principal: Principal,
    patient: PatientRead,
    *,
    session_id: str | None,
    day: dt.date,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    sessions = sessions_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    episodes = episodes_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    session, visit, due = _visit(sessions, session_id, day)
    return page(
        request,
        principal,
        "followup_form.html",
        status=status,
        patient=patient,
        episodes=[(e.id, f"from {e.data.pain_onset_date}") for e in reversed(episodes)],
        sessions=[(NOT_A_FOLLOW_UP, "None: a visit before any injection")]
        + [(s.id, session_words(s)) for s in reversed(sessions)],
        session=session,
        visit=visit,
        summary=_summary(session, visit, day),
        forms=[load_definition(i) for i in due],
        values={"session_id": session.id if session else NOT_A_FOLLOW_UP, "date": day.isoformat()} | values,
        errors=errors or {},
    )


@router.get("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def new_visit(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    session: Annotated[str | None, Query(max_length=36)] = None,
    date: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The visit's questionnaires; ``session`` and ``date`` choose the visit (default: the latest
    session, today)."""
    allow(request, principal, WRITE_OUTCOMES)
    patient = patient_for(db, principal, patient_id)
    day, problem = parse_visit_date(date, at.date())
    episodes = episodes_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    values = {"episode_id": episodes[-1].id if episodes else ""}
    errors = {"date": problem} if problem else None
    return _form(request, db, principal, patient, session_id=session, day=day, values=values, errors=errors)


@router.post("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def post_visit(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep, items: FormItems
) -> Response:
    """Every questionnaire answered, in one transaction: all saved, or none and the form again."""
    allow(request, principal, WRITE_OUTCOMES)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)
    fields = dict(items)
    day, problem = parse_visit_date(fields.get("date"), at.date())
    sessions = sessions_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    session, visit, due = _visit(sessions, fields.get("session_id") or NOT_A_FOLLOW_UP, day)
    answers = nest((k, v) for k, v in items if k.split(".", 1)[0] in due)
    given = {i: answer_codes(section(answers, i).get("answers"), f"{i}.answers") for i in due}
    labels = {"date": "Visit date", "session_id": "Follow-up of session"} | {
        f"{i}.answers.{item.number}": f"Question {item.number} of the {load_definition(i).name}"
        for i in due
        for item in load_definition(i).items
    }

    def write() -> int:
        errors = [FieldError("date", problem)] if problem else []
        if fields.get("session_id") not in (None, "", NOT_A_FOLLOW_UP) and session is None:
            errors.append(FieldError("session_id", "is not an injection session of this patient"))
        elif session is not None and day < session.data.date:
            errors.append(FieldError("date", f"must be on or after the session date {session.data.date}"))
        filled = [i for i in due if any(str(v).strip() for v in given[i].values())]
        if not errors and not filled:
            errors.append(FieldError("", "Answer at least one questionnaire before saving"))
        if errors:
            raise InputError(errors)
        for instrument in filled:
            doc = {
                "patient_id": patient.id,
                "episode_id": fields.get("episode_id", ""),
                "instrument": instrument,
                "date": day.isoformat(),
                "answers": given[instrument],
                "session_id": session.id if visit and session else None,
                "weeks_after_session": visit.week if visit else None,
            }
            try:
                record_outcome(db=db, actor=principal.actor, data=parse(OutcomeCreate, doc))
            except InputError as exc:
                raise InputError(
                    [
                        FieldError(
                            f"{instrument}.{e.field}" if e.field.startswith("answers") else e.field, e.message
                        )
                        for e in exc.errors
                    ]
                ) from None
        return len(filled)

    saved, errors, status = save(db, write, labels)
    if saved is not None:
        return RedirectResponse(f"/patients/{patient.id}?saved=follow_up_visit", 303)
    values = {k: v for k, v in items if k != "csrf_token"}
    return _form(
        request,
        db,
        principal,
        patient,
        session_id=fields.get("session_id"),
        day=day,
        values=values,
        errors=errors,
        status=status,
    )
