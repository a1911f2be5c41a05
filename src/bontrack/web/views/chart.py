"""The patient chart: the banner ("can I inject today?"), scores over time with each injection
on the axis, the body map of one session, and the timeline grouped by cycle with filters."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from bontrack.assessments.schemas import AssessmentRead
from bontrack.injections.schemas import AdverseEventRead, SessionRead
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.service import episodes_of_patient
from bontrack.scheduling.actions import action_words, actions_of_patient
from bontrack.screening.schemas import ScreeningRead
from bontrack.therapy.schemas import TherapyPlanRead
from bontrack.therapy.service import visit_warnings
from bontrack.web.bodymap import MuscleMark, body_map, drawn_muscles
from bontrack.web.chart_banner import chart_banner
from bontrack.web.chart_timeline import CATEGORIES, FILTERS, cycles, timeline_rows
from bontrack.web.deps import READ_CLINICAL, NowDep, PageUser, SessionDep
from bontrack.web.display import product, units
from bontrack.web.isolate import isolated
from bontrack.web.trend import Marker, Series, trend_svg
from bontrack.web.views.common import allow, page, patient_for_chart
from bontrack.web.views.corrections import actions_for, timeline_lists, withdrawn_lists
from bontrack.web.views.patient_links import chart_links

router = APIRouter(include_in_schema=False)
# the scores plotted on the chart: (instrument, colour); ranges and names from the definitions
TREND_SCORES = (("nprs", "#c0392b"), ("ndi", "#1f5fa8"))


def _marks(
    session: SessionRead | None, assessment: AssessmentRead | None
) -> dict[tuple[str, str], MuscleMark]:
    units: dict[tuple[str, str], float] = {}
    for site in session.data.sites if session else []:
        units[(site.muscle, site.side)] = units.get((site.muscle, site.side), 0.0) + site.units
    points = {(tp.muscle, tp.side) for tp in (assessment.data.trigger_points if assessment else [])}
    return {key: MuscleMark(units.get(key, 0.0), key in points) for key in set(units) | points}


# The plots drawn (SVG), by what they are drawn from: the kind of plot and the id and version of
# every record in it. A saved version never changes, so a plot kept is the plot of those very
# versions; a correction or a new record makes another key, drawn at once. Shared by the requests
# of a process (worker threads, hence the lock); the least recently used go first.
_PLOTS_KEPT = 500  # SVG text, a few KB each
_plots: OrderedDict[Hashable, Any] = OrderedDict()
_plots_lock = threading.Lock()


def versions_of(reads: Sequence[Any]) -> tuple[tuple[str, int], ...]:
    return tuple((r.id, r.version) for r in reads)


def kept_plot(key: Hashable, draw: Callable[[], Any]) -> Any:
    """The plot kept under ``key``, or drawn now (and kept)."""
    with _plots_lock:
        plot = _plots.get(key)
        if plot is not None:
            _plots.move_to_end(key)
            return plot
    plot = draw()
    with _plots_lock:
        _plots[key] = plot
        if len(_plots) > _PLOTS_KEPT:
            _plots.popitem(last=False)
    return plot


def _trend(outcomes: list[OutcomeRead], sessions: list[SessionRead]) -> Any:
    key = ("trend", versions_of(outcomes), versions_of(sessions))
    return kept_plot(key, lambda: _draw_trend(outcomes, sessions))


def _draw_trend(outcomes: list[OutcomeRead], sessions: list[SessionRead]) -> Any:
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
        Marker(s.data.date, f"{s.data.date}: {product(s.data.product)} {units(s.data.total_units)} U")
        for s in sessions
    ]
    return trend_svg(series, markers, title="Pain and neck disability over time, injections marked")


def worklist_rows(db: Session, actor: str, patient_id: str) -> list[dict[str, Any]]:
    """What was done about the patient's worklist items, as timeline lines, each naming who
    recorded it (the version's ``recorded_by``, as the record's history page names it): a
    stop-and-review decision is a physician's, and the chart says whose."""
    done = actions_of_patient(db=db, actor=actor, patient_id=patient_id)
    return [
        {
            "date": a.data.on,
            "kind": "Worklist",
            "category": "worklist",
            "text": Markup("{}, recorded by {}").format(
                isolated(action_words(a.data)), isolated(a.recorded_by.removeprefix("user:"))
            ),
        }
        for a in done
    ]


def _with_withdrawn(current: dict[str, list[Any]], withdrawn: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: rows + withdrawn.get(name, []) for name, rows in current.items()}


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_chart(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    session: Annotated[str | None, Query(max_length=36)] = None,
    saved: Annotated[str | None, Query(max_length=40)] = None,
    visit: Annotated[str | None, Query(max_length=36, description="the therapy visit just saved")] = None,
    withdrawn: Annotated[bool, Query(description="also show withdrawn records, struck through")] = False,
    show: Annotated[list[str] | None, Query(max_length=len(FILTERS))] = None,
) -> Response:
    """Banner, scores over time, the body map of one session, and the timeline by cycle."""
    allow(request, principal, READ_CLINICAL)
    patient = patient_for_chart(db, principal, patient_id)
    actor = principal.actor
    records = timeline_lists(db, principal, patient_id)  # one list per kind on the timeline
    sessions: list[SessionRead] = records["sessions"]
    assessments: list[AssessmentRead] = records["assessments"]
    outcomes: list[OutcomeRead] = records["outcomes"]
    screenings: list[ScreeningRead] = records["screenings"]
    adverse_events: list[AdverseEventRead] = records["adverse_events"]
    plans: list[TherapyPlanRead] = records["plans"]
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
    banner = chart_banner(
        db=db,
        actor=actor,
        patient=patient,
        sessions=sessions,
        screenings=screenings,
        outcomes=outcomes,
        adverse_events=adverse_events,
        today=at.date(),
        kb=kb,
    )
    chosen_filters = frozenset(show or ()) & CATEGORIES
    plan_names = {p.id: f"plan from {p.data.start_date}" for p in plans}
    return page(
        request,
        principal,
        "chart.html",
        patient=patient,
        banner=banner,
        episodes=episodes_of_patient(db=db, actor=actor, patient_id=patient_id),
        sessions=sessions,
        chosen=chosen,
        assessment=assessment,
        maps=kept_plot(
            ("body map", versions_of([r for r in (chosen, assessment) if r is not None])),
            lambda: body_map(names, marks),
        ),
        undrawn=[m.name for k, m in kb.files.muscles.items() if k not in names],
        legend=legend,
        sides=kb.files.sides,
        trend=_trend(outcomes, sessions),
        saved=saved,
        warnings=(
            visit_warnings(db=db, actor=actor, visit_id=visit)
            if saved == "therapy_visit"
            and visit is not None
            and any(v.id == visit for v in records["visits"])  # this patient's
            else []
        ),
        cycles=cycles(
            timeline_rows(**_with_withdrawn(records, hidden)) + worklist_rows(db, actor, patient_id),
            sessions,
            plan_names,
            chosen_filters,
        ),
        filters=FILTERS,
        chosen_filters=chosen_filters,
        show_withdrawn=withdrawn,
        actions=actions_for(principal),
        links=chart_links(db, principal, patient_id, at),
    )
