"""The worklist derived from stored sessions, outcomes and therapy plans."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine
from typer.testing import CliRunner

from bontrack.cli import app
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.scheduling.schemas import DueItem
from bontrack.scheduling.service import planned_therapy_dates, worklist
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from bontrack.therapy.service import record_visit
from factories import ACTOR, DAY, World, clinic_world, saved_session


def _items(engine: Engine, today: dt.date, days: int = 0) -> list[DueItem]:
    with transaction(engine) as db:
        return worklist(db=db, actor=ACTOR, today=today, horizon_days=days)


def _world_with_session(engine: Engine) -> tuple[World, str]:
    with transaction(engine) as db:
        world = clinic_world(db)
        return world, saved_session(db, world).id


def test_worklist__outcome_visits_at_2_6_12_weeks(engine: Engine) -> None:
    _world_with_session(engine)
    items = [i for i in _items(engine, DAY, days=7 * 13) if i.kind == "outcome_visit"]
    assert [i.due_date for i in items] == [DAY + dt.timedelta(weeks=w) for w in (2, 6, 12)]
    assert {i.status for i in items} == {"upcoming"}


def test_worklist__recorded_outcome_completes_its_visit(engine: Engine) -> None:
    world, session_id = _world_with_session(engine)
    with transaction(engine) as db:
        record_outcome(
            db=db,
            actor=ACTOR,
            data=OutcomeCreate(
                patient_id=world.patient_id,
                episode_id=world.episode_id,
                instrument="nprs",
                date=DAY + dt.timedelta(weeks=2),
                answers={"1": 3},
                session_id=session_id,
                weeks_after_session=2,
            ),
        )
    items = [i for i in _items(engine, DAY + dt.timedelta(weeks=7)) if i.kind == "outcome_visit"]
    assert [(i.due_date, i.status) for i in items] == [(DAY + dt.timedelta(weeks=6), "overdue")]


def test_worklist__overdue_first_then_by_date(engine: Engine) -> None:
    _world_with_session(engine)
    items = _items(engine, DAY + dt.timedelta(weeks=12), days=0)
    statuses = [i.status for i in items]
    assert statuses == sorted(statuses, key=["overdue", "due", "eligible", "upcoming"].index)
    overdue = [i.due_date for i in items if i.status == "overdue"]
    assert overdue == sorted(overdue) and overdue


def test_worklist__earliest_reinjection_from_product_interval(engine: Engine) -> None:
    _world_with_session(engine)
    (item,) = [i for i in _items(engine, DAY, days=365) if i.kind == "reinjection"]
    assert item.due_date == DAY + dt.timedelta(days=84)  # onabotulinumtoxinA: 12 weeks
    (eligible,) = [i for i in _items(engine, DAY + dt.timedelta(days=84)) if i.kind == "reinjection"]
    assert eligible.status == "eligible"


def test_worklist__next_therapy_visit_advances_with_recorded_visits(engine: Engine) -> None:
    world, _ = _world_with_session(engine)
    with transaction(engine) as db:
        record_visit(
            db=db,
            actor=ACTOR,
            data=TherapyVisitCreate(
                patient_id=world.patient_id, plan_id=world.plan_id, date=DAY, therapist_id=world.clinician_id
            ),
        )
    (item,) = [i for i in _items(engine, DAY, days=30) if i.kind == "therapy_visit"]
    assert item.what == "physical therapy visit 2 of 12"
    assert item.due_date == DAY + dt.timedelta(days=3)


def test_planned_therapy_dates__spread_over_each_week() -> None:
    plan = TherapyPlanCreate(
        patient_id="p", episode_id="e", therapist_id="t", start_date=DAY, weeks=2, visits_per_week=3
    )
    assert [(d - DAY).days for d in planned_therapy_dates(plan)] == [0, 2, 4, 7, 9, 11]


def test_due_command__json_lists_worklist(engine: Engine, db_url: str) -> None:
    _world_with_session(engine)
    result = CliRunner().invoke(
        app, ["--db", db_url, "due", "--date", str(DAY + dt.timedelta(weeks=3)), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["status"] == "overdue"
    first_outcome = next(r for r in rows if r["kind"] == "outcome_visit")
    assert (first_outcome["status"], first_outcome["due_date"]) == (
        "overdue",
        str(DAY + dt.timedelta(weeks=2)),
    )


def test_due_command__bad_date_names_option_and_format(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path}/x.db", "due", "--date", "02/03/2026"])
    assert result.exit_code == 2
    assert "--date" in result.stderr and "YYYY-MM-DD" in result.stderr
