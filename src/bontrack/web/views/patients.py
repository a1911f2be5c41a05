"""Patient list (search, pages; de-identified for researchers) and the patient chart."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bontrack.assessments.schemas import AssessmentRead
from bontrack.injections.schemas import SessionRead
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.listing import SortKey, list_patients
from bontrack.patients.service import episodes_of_patient
from bontrack.research.service import deidentified_patients
from bontrack.scheduling.actions import action_words, actions_of_patient
from bontrack.web.bodymap import MuscleMark, body_map, drawn_muscles
from bontrack.web.deps import (
    READ_CLINICAL,
    READ_DEIDENTIFIED,
    NowDep,
    PageUser,
    SessionDep,
)
from bontrack.web.trend import Marker, Series, trend_svg
from bontrack.web.views.common import allow, page, patient_for
from bontrack.web.views.corrections import actions_for, timeline_lists, withdrawn_lists

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
# the patient list's sortable columns: (sort key, heading)
COLUMNS = (
    ("name", "Name"),
    ("record_number", "Record"),
    ("age", "Age"),
    ("last_visit", "Last visit"),
    ("next_due", "Next due"),
)
# the scores plotted on the chart: (instrument, colour); ranges and names from the definitions
TREND_SCORES = (("nprs", "#c0392b"), ("ndi", "#1f5fa8"))


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    sort: Annotated[SortKey, Query()] = "name",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> Response:
    """Patients by name or record number, 25 a page, sorted by a column; researchers see
    pseudonyms only."""
    clinic = principal.user.clinic_id
    offset = (page_no - 1) * PAGE_SIZE
    if principal.role not in READ_CLINICAL:
        allow(request, principal, READ_DEIDENTIFIED)
        total, rows = deidentified_patients(
            db=db, actor=principal.actor, clinic_id=clinic, limit=PAGE_SIZE, offset=offset, on=at.date()
        )
        return page(
            request,
            principal,
            "patients_deidentified.html",
            rows=rows,
            total=total,
            page_no=page_no,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
        )
    allow(request, principal, READ_CLINICAL)
    total, listed = list_patients(
        db=db,
        actor=principal.actor,
        clinic_id=clinic,
        today=at.date(),
        search=q or None,
        sort=sort,
        descending=order == "desc",
        limit=PAGE_SIZE,
        offset=offset,
    )
    return page(
        request,
        principal,
        "patients.html",
        rows=listed,
        total=total,
        q=q,
        sort=sort,
        order=order,
        columns=COLUMNS,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
    )


def _marks(
    session: SessionRead | None, assessment: AssessmentRead | None
) -> dict[tuple[str, str], MuscleMark]:
    units: dict[tuple[str, str], float] = {}
    for site in session.data.sites if session else []:
        units[(site.muscle, site.side)] = units.get((site.muscle, site.side), 0.0) + site.units
    points = {(tp.muscle, tp.side) for tp in (assessment.data.trigger_points if assessment else [])}
    return {key: MuscleMark(units.get(key, 0.0), key in points) for key in set(units) | points}


def _trend(outcomes: list[OutcomeRead], sessions: list[SessionRead]) -> Any:
    series = []
    for instrument, colour in TREND_SCORES:
        definition = load_definition(instrument)
        score = definition.scores[definition.primary_score]
        points = [
            (o.data.date, value)
            for o in outcomes
            if o.data.instrument == instrument
            and (value := o.data.scoring.scores.get(definition.primary_score)) is not None
        ]
        name = (
            score.label if definition.short_name in score.label else f"{definition.short_name} {score.label}"
        )
        label = f"{name} ({score.low:g}-{score.high:g} {score.unit}, {score.better} is better)"
        series.append(Series(label, score.low, score.high, colour, points))
    markers = [
        Marker(s.data.date, f"{s.data.date}: {s.data.product} {s.data.total_units:g} U") for s in sessions
    ]
    return trend_svg(series, markers, title="Pain and neck disability over time, injections marked")


def _with_withdrawn(current: dict[str, list[Any]], withdrawn: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: rows + withdrawn.get(name, []) for name, rows in current.items()}


def _ref(record_type: str, record: Any) -> dict[str, Any]:
    """What the timeline's Correct, Withdraw and History links need to name the record."""
    return {
        "record_type": record_type,
        "id": record.id,
        "withdrawn": record.withdrawn,
        "withdrawn_reason": record.reason if record.withdrawn else None,
    }


def _timeline(**records: list[Any]) -> list[dict[str, Any]]:
    """Every record as one line of the chart's timeline, newest first."""
    rows: list[dict[str, Any]] = []
    kb = load_knowledge()
    for a in records["assessments"]:
        tps = ", ".join(f"{kb.files.muscles[t.muscle].name} ({t.side})" for t in a.data.trigger_points)
        text = f"Trigger points: {tps or 'none'}"
        if a.data.pressure_pain_thresholds:
            ppts = ", ".join(
                f"{kb.files.muscles[p.muscle].name} ({p.side}) {p.value:g} {p.unit}"
                for p in a.data.pressure_pain_thresholds
            )
            text += f". Pressure-pain thresholds: {ppts}"
        rows.append({"date": a.data.date, "kind": "Assessment", "text": text} | _ref("assessment", a))
    for s in records["screenings"]:
        items = [*s.data.allergies, *s.data.conditions, *s.data.medications]
        flags = [
            n for n in ("pregnant", "breastfeeding", "infection_at_injection_site") if getattr(s.data, n)
        ]
        text = ", ".join([f.replace("_", " ") for f in flags] + items) or "nothing of note"
        rows.append({"date": s.data.date, "kind": "Screening", "text": text} | _ref("screening", s))
    for sess in records["sessions"]:
        d = sess.data
        rows.append(
            {
                "date": d.date,
                "kind": "Injection",
                "text": f"{d.product} {d.total_units:g} U at {len(d.sites)} sites ({d.guidance})",
                "decision": d.decision.decision,
                "override": d.override.reason if d.override else None,
                "session_id": sess.id,
            }
            | _ref("injection_session", sess)
        )
    for e in records["adverse_events"]:
        text = f"{e.data.event} ({e.data.severity}{', serious' if e.data.serious else ''})"
        rows.append(
            {"date": e.data.onset_date, "kind": "Adverse event", "text": text} | _ref("adverse_event", e)
        )
    for p in records["plans"]:
        text = (
            f"{p.data.weeks} weeks, {p.data.visits_per_week} visits a week: {', '.join(p.data.goals) or '-'}"
        )
        rows.append(
            {"date": p.data.start_date, "kind": "Therapy plan", "text": text} | _ref("therapy_plan", p)
        )
    for v in records["visits"]:
        text = ("attended" if v.data.attended else "missed") + (f": {v.data.notes}" if v.data.notes else "")
        rows.append({"date": v.data.date, "kind": "Therapy visit", "text": text} | _ref("therapy_visit", v))
    for o in records["outcomes"]:
        definition = load_definition(o.data.instrument)
        value = o.data.scoring.scores.get(definition.primary_score)
        score = definition.scores[definition.primary_score]
        shown = f"{value:g} {score.unit}" if value is not None else "not scored"
        when = f" ({o.data.weeks_after_session} weeks after injection)" if o.data.weeks_after_session else ""
        label = score.label.removeprefix(definition.short_name).strip() or score.label
        rows.append(
            {"date": o.data.date, "kind": definition.short_name, "text": f"{label} {shown}{when}"}
            | _ref("outcome", o)
        )
    return sorted(rows, key=lambda r: r["date"], reverse=True)


def worklist_rows(db: Session, actor: str, patient_id: str) -> list[dict[str, Any]]:
    """What was done about the patient's worklist items, newest first, as timeline lines."""
    done = actions_of_patient(db=db, actor=actor, patient_id=patient_id)
    return [{"date": a.data.on, "kind": "Worklist", "text": action_words(a.data)} for a in reversed(done)]


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_chart(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    session: Annotated[str | None, Query(max_length=36)] = None,
    saved: Annotated[str | None, Query(max_length=40)] = None,
    withdrawn: Annotated[bool, Query(description="also show withdrawn records, struck through")] = False,
) -> Response:
    """Timeline, scores over time, and the body map of one session's injections and trigger points."""
    allow(request, principal, READ_CLINICAL)
    patient = patient_for(db, principal, patient_id)
    actor = principal.actor
    timeline = timeline_lists(db, principal, patient_id)  # one list per kind on the timeline
    sessions: list[SessionRead] = timeline["sessions"]
    assessments: list[AssessmentRead] = timeline["assessments"]
    outcomes: list[OutcomeRead] = timeline["outcomes"]
    chosen = next((s for s in sessions if s.id == session), sessions[-1] if sessions else None)
    examined = [a for a in assessments if chosen is None or a.data.date <= chosen.data.date]
    assessment = examined[-1] if examined else None
    kb = load_knowledge()
    names = {m: kb.files.muscles[m].name for m in kb.files.muscles if m in drawn_muscles()}
    marks = _marks(chosen, assessment)
    legend = [
        {
            "muscle": m,
            "name": muscle.name,
            "sides": {side: marks.get((m, side), MuscleMark()) for side in kb.files.sides},
        }
        for m, muscle in kb.files.muscles.items()
        if any(marks.get((m, side)) for side in kb.files.sides)
    ]
    hidden = withdrawn_lists(db, principal, patient_id) if withdrawn else {}
    return page(
        request,
        principal,
        "chart.html",
        patient=patient,
        episodes=episodes_of_patient(db=db, actor=actor, patient_id=patient_id),
        sessions=sessions,
        chosen=chosen,
        assessment=assessment,
        maps=body_map(names, marks),
        undrawn=[m.name for k, m in kb.files.muscles.items() if k not in names],
        legend=legend,
        sides=kb.files.sides,
        trend=_trend(outcomes, sessions),
        saved=saved,
        timeline=sorted(
            _timeline(**_with_withdrawn(timeline, hidden)) + worklist_rows(db, actor, patient_id),
            key=lambda r: r["date"],
            reverse=True,
        ),
        show_withdrawn=withdrawn,
        actions=actions_for(principal),
    )
