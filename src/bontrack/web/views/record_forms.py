"""Forms that record an examination, a screening, physical therapy and an outcome measurement.

Each GET shows the form; each POST turns the fields into the service's Create schema, saves all
or nothing, and either goes back to the chart or shows the form again with the errors inline
(the machinery these forms share: bontrack.web.views.form_pages).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.assessments.schemas import AssessmentCreate, PressureUnit, TriggerPointFinding
from bontrack.assessments.service import create_assessment
from bontrack.clinical.screening import STATES as STATES  # the yes/no questions, in order
from bontrack.clinical.screening import states_asked
from bontrack.errors import FieldError, InputError
from bontrack.injections.service import sessions_of_patient
from bontrack.instruments import INSTRUMENT_IDS
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.patients.schemas import PatientRead, Sex
from bontrack.scheduling.visits import first_follow_up_day, follow_up, last_follow_up_day
from bontrack.schemas import parse
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from bontrack.therapy.service import create_plan, record_visit
from bontrack.web.bodymap import MuscleMark, body_map, drawn_muscles
from bontrack.web.deps import (
    WRITE_ASSESSMENTS,
    WRITE_OUTCOMES,
    WRITE_SCREENINGS,
    WRITE_THERAPY,
    NowDep,
    PageUser,
    Principal,
    SessionDep,
)
from bontrack.web.forms import answer_codes, nest
from bontrack.web.views.common import FormItems, allow, patient_for
from bontrack.web.views.form_pages import FormSpec, form_context, post_form, show_form

router = APIRouter(include_in_schema=False)
CRITERIA = [f for f in TriggerPointFinding.model_fields if f not in ("muscle", "side")]
YES_NO = {"yes": True, "no": False}


def _defaults(ctx: dict[str, Any], at: dt.datetime, principal: Principal) -> dict[str, Any]:
    """A new form's values: today, the latest episode and plan, and the logged-in user as the
    clinician (when their account is linked to a clinician record of the patient's clinic)."""
    first = {k: ctx[k][0][0] if ctx[k] else "" for k in ("episodes", "plans")}
    mine = principal.user.clinician_id
    me = mine if mine and any(c == mine for c, _ in ctx["clinicians"]) else ""
    return {
        "date": at.date().isoformat(),
        "start_date": at.date().isoformat(),
        "episode_id": first["episodes"],
        "plan_id": first["plans"],
        "attended": "yes",
        "assessor_id": me,
        "therapist_id": me,
    }


# ---- assessment ------------------------------------------------------------------------------

ASSESSMENT = FormSpec(kind="assessment", roles=WRITE_ASSESSMENTS, template="assessment_form.html")
PPT = "pressure_pain_thresholds"
_PPT_FIELD = re.compile(rf"^{PPT}\[(\d+)\]\.(\w+)$")
SPARE_PPT_ROWS = 2


def ppt_rows(fields: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    """The pressure-pain threshold rows filled in, by the row number on the form (blank rows left out)."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in fields:
        found = _PPT_FIELD.match(name)
        if found and value.strip():
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = value.strip()
    return sorted(rows.items())


def _on_form_rows(exc: InputError, rows: list[int]) -> InputError:
    """Errors of the n-th filled row named by that row's number on the form (blank rows skipped)."""
    out = []
    for e in exc.errors:
        field = e.field
        found = re.match(rf"^{PPT}\[(\d+)\]", field)
        if found and int(found.group(1)) < len(rows):
            field = f"{PPT}[{rows[int(found.group(1))]}]{field[found.end() :]}"
        out.append(FieldError(field, e.message))
    return InputError(out)


def assessment_extra(items: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    kb = load_knowledge()
    names = {m: kb.files.muscles[m].name for m in kb.files.muscles if m in drawn_muscles()}
    last = max((i for i, _row in ppt_rows(items or [])), default=-1)
    return {
        "muscles": [(m, muscle.name) for m, muscle in kb.files.muscles.items()],
        "sides": kb.files.sides,
        "criteria": CRITERIA,
        "maps": body_map(names, dict[tuple[str, str], MuscleMark]()),
        "units": get_args(PressureUnit),
        "ppt_rows": max(SPARE_PPT_ROWS, last + 1 + SPARE_PPT_ROWS),
    }


def assessment_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    given = dict(fields)
    kb = load_knowledge()
    points = []
    for muscle in kb.files.muscles:
        for side in kb.files.sides:
            key = f"tp.{muscle}.{side}"
            if f"{key}.present" in given:
                points.append({"muscle": muscle, "side": side} | {c: f"{key}.{c}" in given for c in CRITERIA})
    doc = nest((k, v) for k, v in fields if not k.startswith(("tp.", PPT)))
    thresholds = [row for _i, row in ppt_rows(fields)]
    return doc | {"patient_id": patient.id, "trigger_points": points, PPT: thresholds}


@router.get("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def new_assessment(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep
) -> Response:
    allow(request, principal, ASSESSMENT.roles)
    patient = patient_for(db, principal, patient_id)
    ctx = form_context(db, principal, patient)
    return show_form(
        request, db, principal, patient, ASSESSMENT, _defaults(ctx, at, principal), **assessment_extra()
    )


@router.post("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def post_assessment(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    rows = [i for i, _row in ppt_rows(items)]

    def write(doc: dict[str, Any]) -> object:
        try:
            return create_assessment(db=db, actor=principal.actor, data=parse(AssessmentCreate, doc))
        except InputError as exc:
            raise _on_form_rows(exc, rows) from None

    extra = assessment_extra(items)
    return post_form(request, db, principal, patient_id, items, ASSESSMENT, assessment_doc, write, **extra)


# ---- screening -------------------------------------------------------------------------------

SCREENING = FormSpec(kind="screening", roles=WRITE_SCREENINGS, template="screening_form.html")


def screening_extra() -> dict[str, Any]:
    """The screening form's questions; ``not_asked``: by recorded sex, the questions the form
    leaves out (pregnancy and breastfeeding of a male patient: ``clinical.screening.states_asked``)
    unless the values being shown hold an answer to them (a stored one is never dropped)."""
    kb = load_knowledge()
    return {
        "states": [(s, kb.files.states[s].label) for s in STATES],
        "not_asked": {sex: [s for s in STATES if s not in states_asked(sex)] for sex in get_args(Sex)},
        "allergies": [(a, item.label) for a, item in kb.files.allergies.items()],
        "conditions": [(c, item.label) for c, item in kb.files.conditions.items()],
    }


def screening_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    doc = nest(
        ((k, v) for k, v in fields if k not in ("allergies", "conditions", *STATES)), lists=("medications",)
    )
    for state in STATES:
        answer = dict(fields).get(state, "")
        if answer:  # left out: not asked
            doc[state] = YES_NO.get(answer, answer)
    for group in ("allergies", "conditions"):
        doc[group] = [v for k, v in fields if k == group]
    return doc | {"patient_id": patient.id}


@router.get("/patients/{patient_id}/screenings/new", response_class=HTMLResponse)
def new_screening(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep
) -> Response:
    allow(request, principal, SCREENING.roles)
    patient = patient_for(db, principal, patient_id)
    values = _defaults(form_context(db, principal, patient), at, principal)
    return show_form(request, db, principal, patient, SCREENING, values, **screening_extra())


@router.post("/patients/{patient_id}/screenings/new", response_class=HTMLResponse)
def post_screening(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    def write(doc: dict[str, Any]) -> object:
        return create_screening(db=db, actor=principal.actor, data=parse(ScreeningCreate, doc))

    return post_form(
        request, db, principal, patient_id, items, SCREENING, screening_doc, write, **screening_extra()
    )


# ---- physical therapy ------------------------------------------------------------------------

PLAN = FormSpec(kind="therapy_plan", roles=WRITE_THERAPY, template="therapy_plan_form.html")
VISIT = FormSpec(kind="therapy_visit", roles=WRITE_THERAPY, template="therapy_visit_form.html")


def plan_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    return nest(fields, lists=("goals", "exercises")) | {"patient_id": patient.id}


def visit_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    doc = nest((k, v) for k, v in fields if k != "attended")
    doc["attended"] = YES_NO.get(dict(fields).get("attended", ""), dict(fields).get("attended"))
    return doc | {"patient_id": patient.id}


@router.get("/patients/{patient_id}/therapy/new", response_class=HTMLResponse)
def new_plan(request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    allow(request, principal, PLAN.roles)
    patient = patient_for(db, principal, patient_id)
    return show_form(
        request, db, principal, patient, PLAN, _defaults(form_context(db, principal, patient), at, principal)
    )


@router.post("/patients/{patient_id}/therapy/new", response_class=HTMLResponse)
def post_plan(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    def write(doc: dict[str, Any]) -> object:
        return create_plan(db=db, actor=principal.actor, data=parse(TherapyPlanCreate, doc))

    return post_form(request, db, principal, patient_id, items, PLAN, plan_doc, write)


@router.get("/patients/{patient_id}/therapy/visit", response_class=HTMLResponse)
def new_visit(request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    allow(request, principal, VISIT.roles)
    patient = patient_for(db, principal, patient_id)
    return show_form(
        request, db, principal, patient, VISIT, _defaults(form_context(db, principal, patient), at, principal)
    )


@router.post("/patients/{patient_id}/therapy/visit", response_class=HTMLResponse)
def post_visit(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    def write(doc: dict[str, Any]) -> object:
        return record_visit(db=db, actor=principal.actor, data=parse(TherapyVisitCreate, doc))

    # the chart says what to know about the visit saved (one beyond the plan's number)
    return post_form(
        request, db, principal, patient_id, items, VISIT, visit_doc, write, more=lambda v: f"visit={v.id}"
    )


# ---- outcome ---------------------------------------------------------------------------------

OUTCOME = FormSpec(kind="outcome", roles=WRITE_OUTCOMES, template="outcome_form.html")


def outcome_extra(instrument: str) -> dict[str, Any]:
    chosen = instrument if instrument in INSTRUMENT_IDS else INSTRUMENT_IDS[0]
    return {
        "definition": load_definition(chosen),
        "instruments": [(i, load_definition(i).name) for i in INSTRUMENT_IDS],
    }


def outcome_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    doc = nest(fields)
    doc["answers"] = answer_codes(doc.get("answers"))
    return doc | {"patient_id": patient.id}


@router.get("/patients/{patient_id}/outcomes/new", response_class=HTMLResponse)
def new_outcome(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    instrument: str = "nprs",
) -> Response:
    allow(request, principal, OUTCOME.roles)
    patient = patient_for(db, principal, patient_id)
    values = _defaults(form_context(db, principal, patient), at, principal) | {"instrument": instrument}
    return show_form(request, db, principal, patient, OUTCOME, values, **outcome_extra(instrument))


@router.post("/patients/{patient_id}/outcomes/new", response_class=HTMLResponse)
def post_outcome(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    def write(doc: dict[str, Any]) -> object:
        return record_outcome(db=db, actor=principal.actor, data=parse(OutcomeCreate, with_weeks(doc)))

    def with_weeks(doc: dict[str, Any]) -> dict[str, Any]:
        """The follow-up visit computed from the session's date and this one (never typed)."""
        doc.pop("weeks_after_session", None)
        sessions = sessions_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
        session = next((s for s in sessions if s.id == doc.get("session_id")), None)
        try:
            day = dt.date.fromisoformat(str(doc.get("date", "")))
        except ValueError:
            return doc  # the date's own error says what is wrong
        if session is not None:
            visit = follow_up(session.data.date, day, load_knowledge())
            if visit is None:
                kb = load_knowledge()
                days = f"{first_follow_up_day(kb)} to {last_follow_up_day(kb)} days"
                raise InputError.one("date", f"must be {days} after the session (else: Not a follow-up)")
            doc["weeks_after_session"] = visit.week
        return doc

    instrument = dict(items).get("instrument", "")
    return post_form(
        request, db, principal, patient_id, items, OUTCOME, outcome_doc, write, **outcome_extra(instrument)
    )
